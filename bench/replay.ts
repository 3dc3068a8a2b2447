import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegionConsumer } from '../dev/consumer';
import {
  CONSUMER_TOPICS,
  replayRegionEntry,
  replayTopics,
  startRegion,
  type LocalRegion,
} from '../dev/regions';
import type { NewRecord } from '../shared/src/record';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { SqliteRecordStore } from '../shared/src/store';
import { BENCH_THING, benchGateway, option, pumpMeasurements } from './common';
import { fmt, printTable } from './table';

const THING = BENCH_THING;
const CEILING_BYTES_PER_SEC = 512 * 1024;

const reading = (n: number, tsMs: number): NewRecord => ({
  stream: 'pump/vibration',
  lane: 'telemetry',
  deviceId: `pump-${n % 8}`,
  tsMs,
  body: pumpMeasurements(n),
});

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
  const { launcher, close } = await benchGateway(dir, {
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
  return {
    store,
    launcher,
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

function fill(store: SqliteRecordStore, count: number): void {
  const now = Date.now();
  for (let at = 0; at < count; at += 5_000) {
    const n = Math.min(5_000, count - at);
    store.append(Array.from({ length: n }, (_, i) => reading(at + i, now - 7_200_000 + at + i)));
  }
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
  compressionRatio: number;
  publishes: number;
}

/** Drains a backlog of `count` readings to one region; timed from the first batch to the last. */
async function drain(
  root: string,
  count: number,
  flowControl: boolean,
  batching: JsonTree = {},
): Promise<Drain> {
  const dir = mkdtempSync(join(root, 'drain-'));
  const { region: r, consumer } = await region(dir, 'region-a');
  const gw = await gateway(dir, { regions: [regionEntry(r, 0, flowControl)], batching });
  try {
    fill(gw.store, count);
    await gw.startReplay();
    const received = (): number => consumer.batches.reduce((s, b) => s + b.header.count, 0);
    await until(() => received() >= count, 30 * 60_000, `${count} records upstream`);
    const batches = consumer.batches;
    const first = batches[0]!;
    const last = batches.at(-1)!;
    // The first batch's own transfer is inside the window: count from when it could have started.
    const seconds = Math.max(0.001, (last.atMs - first.atMs) / 1000);
    const payload = batches.slice(1).reduce((s, b) => s + b.payloadBytes, 0);
    const plain = batches.reduce((s, b) => s + Buffer.byteLength(JSON.stringify(b.records)), 0);
    return {
      recordsPerSec: (received() - first.header.count) / seconds,
      payloadBytesPerSec: payload / seconds,
      compressionRatio: plain / batches.reduce((s, b) => s + b.payloadBytes, 0),
      publishes: batches.length,
    };
  } finally {
    await gw.close();
    await consumer.close();
    await r.stop();
  }
}

/** SIGSTOP of the active region under load, `trials` times: time to the standby's first PUBACK. */
async function failover(root: string, trials: number, holdMs: number): Promise<number[]> {
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
    return times;
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
  const trials = option(args, 'trials', 10);
  const holdMs = option(args, 'hold', 3_000);
  /** Envelopes in flight; 0 keeps the recipe's default. */
  const inFlight = option(args, 'inflight', 0);
  const root = mkdtempSync(join(tmpdir(), 'ggdr-replay-bench-'));
  try {
    const skipped: Drain = { recordsPerSec: 0, payloadBytesPerSec: 0, compressionRatio: 0, publishes: 0 };
    const batching: JsonTree = inFlight > 0 ? { maxInFlight: inFlight } : {};
    const on = count > 0 ? await drain(root, count, true, batching) : skipped;
    const onePerPublish = single > 0 ? await drain(root, single, true, { maxReadRecords: 1 }) : skipped;
    const off = count > 0 ? await drain(root, count, false, batching) : skipped;
    const times = (trials > 0 ? await failover(root, trials, holdMs) : []).sort((x, y) => x - y);
    const fraction = on.payloadBytesPerSec / CEILING_BYTES_PER_SEC;
    const rows: [string, string][] = [];
    if (count > 0)
      rows.push(
        [
          'flow control on (100 publishes/s, 512 KiB/s)',
          `${fmt(on.recordsPerSec)} records/s in ${fmt(on.publishes)} publishes`,
        ],
        [
          '  payload bytes/s',
          `${fmt(on.payloadBytesPerSec / 1024)} KiB/s = ${fmt(fraction * 100, 1)} % of 512 KiB/s (target >= 90 %)`,
        ],
        ['  compression ratio', `${fmt(on.compressionRatio, 1)} : 1`],
      );
    if (single > 0) {
      rows.push(['one record per publish, flow control on', `${fmt(onePerPublish.recordsPerSec)} records/s`]);
      if (count > 0)
        rows.push(['  batching gain', `${fmt(on.recordsPerSec / onePerPublish.recordsPerSec)} x`]);
    }
    if (count > 0) rows.push(['flow control off', `${fmt(off.recordsPerSec)} records/s`]);
    if (times.length > 0)
      rows.push([
        `failover, SIGSTOP to first standby PUBACK (${times.length} trials)`,
        `p50 ${fmt(percentile(times, 0.5))} ms, p95 ${fmt(percentile(times, 0.95))} ms (target p95 <= 5,000 ms)`,
      ]);
    printTable(`replay: ${count} ~200-byte readings to a local TLS region`, rows);
    return {
      records: count,
      flowControlOn: {
        recordsPerSec: Math.round(on.recordsPerSec),
        payloadBytesPerSec: Math.round(on.payloadBytesPerSec),
        fractionOfCeiling: Number(fraction.toFixed(3)),
        compressionRatio: Number(on.compressionRatio.toFixed(2)),
        publishes: on.publishes,
      },
      onePerPublishRecordsPerSec: Math.round(onePerPublish.recordsPerSec),
      flowControlOff: { recordsPerSec: Math.round(off.recordsPerSec) },
      failover: {
        trials: times.length,
        p50Ms: percentile(times, 0.5),
        p95Ms: percentile(times, 0.95),
        maxMs: times.at(-1) ?? 0,
        timesMs: times,
        failbackHoldMs: holdMs,
      },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
