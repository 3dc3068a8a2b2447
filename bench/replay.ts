import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { argValue } from '../dev/args';
import { RegionConsumer, type ReceivedBatch } from '../dev/consumer';
import {
  CONSUMER_TOPICS,
  replayRegionEntry,
  replayTopics,
  startRegion,
  type LocalRegion,
} from '../dev/regions';
import { DEFAULT_SKAB_DIR, SkabFleet } from '../dev/skab-fleet';
import { readObject, TOPICS } from '../shared/src/messages';
import type { DrRecord, NewRecord } from '../shared/src/record';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { SqliteRecordStore } from '../shared/src/store';
import { BENCH_THING, benchGateway, option, pumpMeasurements, writeChart } from './common';
import { catchUp24hMinutes, measure, publishOverhead } from './encoding';
import { fmt, printTable } from './table';

const THING = BENCH_THING;
const CEILING_BYTES_PER_SEC = 512 * 1024;
/** Longer than the Buffer's maintenance interval (5 s): no block added for this long means it is done. */
const COMPACTION_SETTLED_MS = 12_000;

const reading = (n: number, tsMs: number): NewRecord => ({
  stream: 'pump/vibration',
  lane: 'telemetry',
  deviceId: `pump-${n % 8}`,
  tsMs,
  body: pumpMeasurements(n),
});

/** SKAB-like readings (200 pumps at 1 Hz, real recordings varied per pump) from `startMs`. */
function skabReadings(count: number, startMs: number, skab: string): NewRecord[] {
  return new SkabFleet({ dir: skab, startMs }).nextRecords(count);
}

async function region(dir: string, name: string): Promise<{ region: LocalRegion; consumer: RegionConsumer }> {
  const r = await startRegion(dir, name, {
    clients: ['replay', 'cloud'],
    acl: { replay: replayTopics(THING), cloud: CONSUMER_TOPICS },
  });
  return { region: r, consumer: await RegionConsumer.connect(r, 'cloud', [`edgedr/${THING}/batches`]) };
}

const regionEntry = (r: LocalRegion, priority: number, flowControl: boolean): JsonTree =>
  replayRegionEntry(r, THING, priority, { iotCoreFlowControl: flowControl });

/** Buffer and Replay from their recipes under the local IPC host; records are appended directly. */
async function gateway(dir: string, replay: JsonTree) {
  const { host, launcher, close } = await benchGateway(dir, {
    'com.edgedr.Replay': replay,
    'com.edgedr.Buffer': { store: { maxStoreBytes: 4 * 1024 ** 3 } },
  });
  await launcher.launch(['com.edgedr.Buffer']);
  await launcher.waitForState('com.edgedr.Buffer', 'RUNNING', 30_000);
  const store = SqliteRecordStore.open({
    path: join(launcher.workPath('com.edgedr.Buffer'), 'store', 'records.db'),
    gatewayId: THING,
    integrityCheck: false,
  });
  let status: Record<string, unknown> = {};
  host.subscribe(TOPICS.replayStatus, (_t, p) => {
    status = readObject(p) ?? status;
  });
  return {
    store,
    launcher,
    /** Replay's last local status document. */
    status: () => status,
    startReplay: async () => {
      await launcher.launch(['com.edgedr.Replay']);
      await launcher.waitForState('com.edgedr.Replay', 'RUNNING', 30_000);
    },
    close: async () => {
      await close();
      store.close();
    },
  };
}

/** A backlog of `count` readings from a day ago (well outside the live window: the Buffer compacts it). */
function fill(store: SqliteRecordStore, count: number, skab: string | null): void {
  const from = Date.now() - 86_400_000;
  const records =
    skab !== null
      ? skabReadings(count, from, skab)
      : Array.from({ length: count }, (_, i) => reading(i, from + i));
  for (let at = 0; at < count; at += 5_000) store.append(records.slice(at, at + 5_000));
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Drain {
  recordsPerSec: number;
  payloadBytesPerSec: number;
  /** Payload and MQTT publish overhead, per record, of what the region received. */
  wireBytesPerRecord: number;
  compressionRatio: number;
  publishes: number;
  /** Records the Buffer had compacted into blocks before Replay started; null when it did not wait. */
  inBlocks: number | null;
}

/** What one received batch took on the wire: its payload and its PUBLISH's topic and properties. */
function wireBytes(b: ReceivedBatch): number {
  const props = Object.entries(b.userProperties).flatMap(([name, v]) =>
    (Array.isArray(v) ? v : [v]).map((value) => ({ name, value })),
  );
  return b.payloadBytes + publishOverhead(props, `edgedr/${THING}/batches`);
}

/** Records/s and payload bytes/s between two batches (the first one's own transfer excluded). */
function rate(
  batches: readonly ReceivedBatch[],
  from: number,
  to: number,
): Pick<Drain, 'recordsPerSec' | 'payloadBytesPerSec'> {
  const window = batches.slice(from + 1, to + 1);
  const seconds = Math.max(0.001, ((batches[to]?.atMs ?? 0) - (batches[from]?.atMs ?? 0)) / 1000);
  return {
    recordsPerSec: window.reduce((s, b) => s + b.header.count, 0) / seconds,
    payloadBytesPerSec: window.reduce((s, b) => s + b.payloadBytes, 0) / seconds,
  };
}

interface DrainOptions {
  readonly flowControl: boolean;
  readonly batching?: JsonTree;
  /** Extra connections to the region for the backlog. */
  readonly drainLinks?: number;
  /** SKAB-like readings from this directory; the simulator's regular readings otherwise. */
  readonly skab?: string;
  /** Time the steady part only (5 % to 95 % of the records), leaving out links connecting at the start. */
  readonly steady?: boolean;
  /**
   * Start Replay only once the Buffer has compacted the backlog, as after a long outage (the Buffer
   * compacts far faster than 200 readings/s arrive). Otherwise Replay starts at once, racing it.
   */
  readonly compacted?: boolean;
}

/**
 * Waits until the Buffer's compaction has stopped adding records to blocks for longer than the pause
 * between its maintenance rounds; returns how many are in blocks.
 */
async function compactionDone(store: SqliteRecordStore, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const inBlocks = store.metrics().recordsInBlocks;
    if (inBlocks !== last) {
      last = inBlocks;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= COMPACTION_SETTLED_MS) return inBlocks;
    if (Date.now() > deadline) throw new Error('timed out waiting for the Buffer to compact the backlog');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Drains a backlog of `count` readings to one region; timed from the first batch to the last. */
async function drain(root: string, count: number, o: DrainOptions): Promise<Drain> {
  const dir = mkdtempSync(join(root, 'drain-'));
  const { region: r, consumer } = await region(dir, 'region-a');
  const entry = replayRegionEntry(r, THING, 0, {
    iotCoreFlowControl: o.flowControl,
    ...(o.drainLinks === undefined ? {} : { drainLinks: o.drainLinks }),
  });
  const gw = await gateway(dir, { regions: [entry], batching: o.batching ?? {} });
  try {
    fill(gw.store, count, o.skab ?? null);
    const inBlocks = o.compacted === true ? await compactionDone(gw.store, 10 * 60_000) : null;
    await gw.startReplay();
    const received = (): number => consumer.batches.reduce((s, b) => s + b.header.count, 0);
    await until(() => received() >= count, 30 * 60_000, `${count} records upstream`);
    const batches = consumer.batches;
    let from = 0;
    let to = batches.length - 1;
    if (o.steady === true) {
      let seen = 0;
      const at = batches.map((b) => (seen += b.header.count));
      from = Math.max(
        0,
        at.findIndex((n) => n >= 0.05 * count),
      );
      to = Math.max(
        from + 1,
        at.findIndex((n) => n >= 0.95 * count),
      );
    }
    const plain = batches.reduce((s, b) => s + Buffer.byteLength(JSON.stringify(b.records)), 0);
    return {
      ...rate(batches, from, Math.min(to, batches.length - 1)),
      wireBytesPerRecord: batches.reduce((s, b) => s + wireBytes(b), 0) / received(),
      compressionRatio: plain / batches.reduce((s, b) => s + b.payloadBytes, 0),
      publishes: batches.length,
      inBlocks,
    };
  } finally {
    await gw.close();
    await consumer.close();
    await r.stop();
  }
}

interface BacklogLinks {
  links: number;
  recordsPerSec: number;
  payloadBytesPerSec: number;
  scaling: number;
}

/** The same backlog of SKAB-like readings drained over 1..maxLinks connections, flow control on each. */
async function backlogLinks(
  root: string,
  perLink: number,
  maxLinks: number,
  skab: string,
): Promise<BacklogLinks[]> {
  const out: BacklogLinks[] = [];
  for (let links = 1; links <= maxLinks; links++) {
    const d = await drain(root, perLink * links, {
      flowControl: true,
      drainLinks: links - 1,
      skab,
      steady: true,
      compacted: true,
    });
    const one = out[0]?.recordsPerSec ?? d.recordsPerSec;
    out.push({
      links,
      recordsPerSec: Math.round(d.recordsPerSec),
      payloadBytesPerSec: Math.round(d.payloadBytesPerSec),
      scaling: Number((d.recordsPerSec / one).toFixed(2)),
    });
    console.log(
      `  backlog over ${links} link(s): ${fmt(d.recordsPerSec)} records/s, ${fmt(d.payloadBytesPerSec / 1024)} KiB/s, compression ${fmt(d.compressionRatio, 1)}:1`,
    );
  }
  return out;
}

interface Failover {
  times: number[];
  /** Records the cloud received twice in the same envelope (a hedged or resent envelope). */
  hedgedDuplicates: number;
  /** Records received twice in different envelopes (should not happen). */
  otherDuplicates: number;
  /** Replay's own counters of hedged and resent envelopes. */
  replay: Record<string, unknown>;
}

/** Records that arrived more than once, split by whether every copy came in the same envelope. */
function duplicates(consumers: readonly RegionConsumer[]): { sameEnvelope: number; other: number } {
  const copies = new Map<string, string[]>();
  for (const c of consumers)
    for (const b of c.batches)
      for (const r of b.records) copies.set(r.id, [...(copies.get(r.id) ?? []), b.header.batchId]);
  let sameEnvelope = 0;
  let other = 0;
  for (const batchIds of copies.values()) {
    if (batchIds.length < 2) continue;
    if (new Set(batchIds).size === 1) sameEnvelope += batchIds.length - 1;
    else other += batchIds.length - 1;
  }
  return { sameEnvelope, other };
}

/** SIGSTOP of the active region under load, `trials` times: time to the standby's first PUBACK. */
async function failover(root: string, trials: number, holdMs: number): Promise<Failover> {
  const dir = mkdtempSync(join(root, 'failover-'));
  const a = await region(dir, 'region-a');
  const b = await region(dir, 'region-b');
  const gw = await gateway(dir, {
    regions: [regionEntry(a.region, 0, true), regionEntry(b.region, 1, true)],
    health: { failbackHoldMs: holdMs },
  });
  let n = 0;
  const load = setInterval(() => {
    gw.store.append(Array.from({ length: 50 }, () => reading(n++, Date.now())));
  }, 20);
  const times: number[] = [];
  try {
    await gw.startReplay();
    for (let t = 0; t < trials; t++) {
      const inA = a.consumer.batches.length;
      await until(() => a.consumer.batches.length > inA + 3, 60_000, 'traffic in region-a');
      const inB = b.consumer.batches.length;
      const stoppedAt = Date.now();
      a.region.pause();
      await until(() => b.consumer.batches.length > inB, 60_000, 'first batch in region-b');
      times.push((b.consumer.batches[inB]?.atMs ?? Date.now()) - stoppedAt);
      a.region.resume();
      // Fail-back after the hold, before the next trial.
      const resumedA = a.consumer.batches.length;
      await until(
        () => a.consumer.batches.slice(resumedA).some((x) => x.atMs > stoppedAt + holdMs),
        60_000,
        'fail-back to region-a',
      );
      console.log(`  failover trial ${t + 1}/${trials}: ${times.at(-1)} ms`);
    }
    clearInterval(load);
    // Let what is in flight settle before counting copies.
    await new Promise((r) => setTimeout(r, 5_000));
    const d = duplicates([a.consumer, b.consumer]);
    return {
      times,
      hedgedDuplicates: d.sameEnvelope,
      otherDuplicates: d.other,
      replay: (gw.status()['hedging'] ?? {}) as Record<string, unknown>,
    };
  } finally {
    clearInterval(load);
    await gw.close();
    await Promise.all([a.consumer.close(), b.consumer.close()]);
    await Promise.all([a.region.stop(), b.region.stop()]);
  }
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;

export async function replayBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const count = option(args, 'records', 400_000);
  const single = option(args, 'single', 1_000);
  const trials = option(args, 'trials', 20);
  /** SKAB-like readings per link for the backlog-over-links part; 0 skips it. */
  const perLink = option(args, 'backlog', 200_000);
  /** SKAB-like readings drained over one link, for the records/s and bytes/record on real data. */
  const skabCount = option(args, 'skab-records', 300_000);
  const skab = argValue(args, '--skab') ?? DEFAULT_SKAB_DIR;
  const maxLinks = option(args, 'links', 4);
  const holdMs = option(args, 'hold', 3_000);
  /** Envelopes in flight; 0 keeps the recipe's default. */
  const inFlight = option(args, 'inflight', 0);
  const root = mkdtempSync(join(tmpdir(), 'ggdr-replay-bench-'));
  try {
    const skipped: Drain = {
      recordsPerSec: 0,
      payloadBytesPerSec: 0,
      wireBytesPerRecord: 0,
      compressionRatio: 0,
      publishes: 0,
      inBlocks: null,
    };
    const batching: JsonTree = inFlight > 0 ? { maxInFlight: inFlight } : {};
    const on = count > 0 ? await drain(root, count, { flowControl: true, batching }) : skipped;
    const onePerPublish =
      single > 0
        ? await drain(root, single, { flowControl: true, batching: { maxReadRecords: 1 } })
        : skipped;
    const off = count > 0 ? await drain(root, count, { flowControl: false, batching }) : skipped;
    const skabLike =
      skabCount > 0
        ? await drain(root, skabCount, { flowControl: true, batching, skab, steady: true, compacted: true })
        : skipped;
    const links = perLink > 0 && maxLinks > 0 ? await backlogLinks(root, perLink, maxLinks, skab) : [];
    const fo: Failover =
      trials > 0
        ? await failover(root, trials, holdMs)
        : { times: [], hedgedDuplicates: 0, otherDuplicates: 0, replay: {} };
    const times = [...fo.times].sort((x, y) => x - y);
    const fraction = on.payloadBytesPerSec / CEILING_BYTES_PER_SEC;
    const skabFraction = skabLike.payloadBytesPerSec / CEILING_BYTES_PER_SEC;
    // The encoder's CPU on the same data (the Buffer's compaction and Replay's packing share it).
    const withIds = (records: readonly NewRecord[]): DrRecord[] =>
      records.map((r, i) => ({ id: `${THING}:abcd1234:${i + 1}`, ...r }));
    const encodeSample = Math.min(100_000, Math.max(skabCount, count, 1));
    const skabEncode =
      skabCount > 0 ? measure(withIds(skabReadings(encodeSample, Date.UTC(2026, 0, 1), skab)), 2) : null;
    const simEncode =
      count > 0 ? measure(withIds(Array.from({ length: encodeSample }, (_, i) => reading(i, i))), 2) : null;
    const catchUp = skabCount > 0 ? catchUp24hMinutes(skabLike.recordsPerSec) : null;
    const rows: [string, string][] = [];
    if (count > 0)
      rows.push(
        [
          'flow control on (100 publishes/s, 512 KiB/s)',
          `${fmt(on.recordsPerSec)} records/s in ${fmt(on.publishes)} publishes`,
        ],
        [
          '  payload bytes/s',
          // The simulator's readings compress so far that 100 publishes/s, not bytes, bound this line:
          // the byte target belongs to the SKAB-like line below.
          `${fmt(on.payloadBytesPerSec / 1024)} KiB/s = ${fmt(fraction * 100, 1)} % of 512 KiB/s (no target: see the SKAB-like line)`,
        ],
        ['  compression ratio', `${fmt(on.compressionRatio, 1)} : 1`],
      );
    if (single > 0) {
      rows.push(['one record per publish, flow control on', `${fmt(onePerPublish.recordsPerSec)} records/s`]);
      if (count > 0)
        rows.push(['  batching gain', `${fmt(on.recordsPerSec / onePerPublish.recordsPerSec)} x`]);
    }
    if (count > 0) rows.push(['flow control off', `${fmt(off.recordsPerSec)} records/s`]);
    if (skabCount > 0)
      rows.push(
        [
          'SKAB-like backlog, flow control on (blocks sent as stored)',
          `${fmt(skabLike.recordsPerSec)} records/s, ${fmt(skabLike.wireBytesPerRecord, 2)} B/record on the wire (target >= 28,000 records/s)`,
        ],
        [
          '  payload bytes/s',
          `${fmt(skabLike.payloadBytesPerSec / 1024)} KiB/s = ${fmt(skabFraction * 100, 1)} % of 512 KiB/s (target >= 90 %)`,
        ],
        [
          '  compacted before Replay started',
          `${fmt(skabLike.inBlocks ?? 0)} of ${fmt(skabCount)} records in the Buffer's blocks`,
        ],
        ['  encode CPU (envelope v2)', `${fmt(skabEncode?.encodeMsPerMb ?? 0, 2)} ms/MB (target <= 10)`],
        ['  24 h at 200/s caught up (live data still arriving)', `${fmt(catchUp ?? 0, 1)} min`],
      );
    for (const l of links)
      rows.push([
        `backlog of SKAB-like readings over ${l.links} link(s)`,
        `${fmt(l.recordsPerSec)} records/s, ${fmt(l.scaling, 2)} x one link (target >= ${fmt(0.9 * l.links, 1)} x)`,
      ]);
    if (times.length > 0)
      rows.push(
        [
          `failover, SIGSTOP to first standby PUBACK (${times.length} trials)`,
          `p50 ${fmt(percentile(times, 0.5))} ms, p95 ${fmt(percentile(times, 0.95))} ms, max ${fmt(times.at(-1) ?? 0)} ms (target p95 <= 1,000 ms)`,
        ],
        [
          '  duplicates (records the cloud got twice)',
          `${fmt(fo.hedgedDuplicates)} in hedged envelopes, ${fmt(fo.otherDuplicates)} otherwise`,
        ],
      );
    printTable(`replay: ${count} ~200-byte readings to a local TLS region`, rows);
    if (links.length > 0)
      writeChart('replay-links', {
        title: 'Replay: a backlog of realistic readings over more links to one region',
        xLabel: 'links (connections) to the region',
        panels: [
          {
            yLabel: 'records/s',
            series: [
              { name: 'measured', points: links.map((l) => [l.links, l.recordsPerSec] as const) },
              {
                name: 'linear (one link × n)',
                points: links.map((l) => [l.links, (links[0]?.recordsPerSec ?? 0) * l.links] as const),
              },
            ],
          },
        ],
      });
    if (times.length > 0)
      writeChart('replay-failover', {
        title: `Replay: failover, SIGSTOP of the active region to the first PUBACK of the standby (${times.length} trials)`,
        xLabel: 'share of trials at or below (%)',
        panels: [
          {
            yLabel: 'failover (ms)',
            limit: { y: 1_000, label: 'target: p95 ≤ 1,000 ms' },
            series: [
              { name: 'failover', points: times.map((t, i) => [((i + 1) * 100) / times.length, t] as const) },
            ],
          },
        ],
      });
    return {
      records: count,
      flowControlOn: {
        recordsPerSec: Math.round(on.recordsPerSec),
        payloadBytesPerSec: Math.round(on.payloadBytesPerSec),
        fractionOfCeiling: Number(fraction.toFixed(3)),
        compressionRatio: Number(on.compressionRatio.toFixed(2)),
        publishes: on.publishes,
      },
      skabLike: {
        recordsPerSec: Math.round(skabLike.recordsPerSec),
        wireBytesPerRecord: Number(skabLike.wireBytesPerRecord.toFixed(2)),
        fractionOfCeiling: Number(skabFraction.toFixed(3)),
        encodeMsPerMb: Number((skabEncode?.encodeMsPerMb ?? 0).toFixed(2)),
        compressionRatio: Number(skabLike.compressionRatio.toFixed(2)),
        records: skabCount,
        /** Records already in the Buffer's blocks when Replay started (sent as stored). */
        recordsInBlocksAtStart: skabLike.inBlocks,
      },
      simulator: {
        recordsPerSec: Math.round(on.recordsPerSec),
        wireBytesPerRecord: Number(on.wireBytesPerRecord.toFixed(2)),
        fractionOfCeiling: Number(fraction.toFixed(3)),
        encodeMsPerMb: Number((simEncode?.encodeMsPerMb ?? 0).toFixed(2)),
      },
      catchUp24hMinutes: catchUp === null ? null : Number(catchUp.toFixed(1)),
      onePerPublishRecordsPerSec: Math.round(onePerPublish.recordsPerSec),
      flowControlOff: { recordsPerSec: Math.round(off.recordsPerSec) },
      backlogLinks: links,
      failover: {
        trials: times.length,
        p50Ms: percentile(times, 0.5),
        p95Ms: percentile(times, 0.95),
        maxMs: times.at(-1) ?? 0,
        timesMs: times,
        failbackHoldMs: holdMs,
        hedgedDuplicates: fo.hedgedDuplicates,
        otherDuplicates: fo.otherDuplicates,
        replayHedging: fo.replay,
      },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
