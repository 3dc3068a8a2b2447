/**
 * The chaos suite: `npm run chaos [-- --rounds N --seed N --keep]`.
 *
 * The whole suite runs (two local TLS regions, the four components from their recipes, simulated
 * pumps) while seeded, randomized faults hit it, one per round: SIGKILL of a component at a random
 * moment, SIGSTOP or SIGKILL and restart of a region, the store pushed past its quota with both regions
 * down, a corrupted store file, the store file replaced or deleted under the running suite, the Buffer
 * SIGKILLed while it compacts a backlog into blocks, a storm of malformed payloads, and a deployment with
 * an invalid configuration. After each round: every component back to RUNNING and its memory bounded. At the end,
 * once the store has drained: every record the store committed was delivered, or was evicted and named
 * by a gap marker, or sat in a damaged file that the Buffer quarantined and reported; duplicates carry
 * identical ids and contents. Prints a summary, writes chaos-results/chaos.json, exits 1 on a violation.
 *
 * Components are killed on purpose here, so Greengrass's "three errors make it BROKEN" rule is lifted.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { liveBatchRecords, readObject, TOPICS } from '../shared/src/messages';
import { argValue } from '../dev/args';
import { nodePidInGroup, rssBytes } from '../dev/proc';
import { PumpSimulator, seededRandom } from '../dev/pump-simulator';
import { startLocalSuite, SUITE_COMPONENTS, type LocalSuite } from '../dev/suite';
import type { LocalPayload } from '../shared/src/runtime/host/ipc-host';
import { GapCoverage } from '../shared/src/gap-markers';
import { namespacesUnavailable } from '../dev/netns';
import type { LocalRegion } from '../dev/regions';

const THING = 'chaos-gateway';
const FAULTS = [
  'kill-component',
  'stop-region',
  'kill-region',
  'quota',
  'corrupt-store',
  'replace-store',
  'kill-compaction',
  'malformed-storm',
  'invalid-deployment',
  // At the packet level, between Replay and a region in a network namespace of its own.
  'net-drop',
  'net-loss',
  'net-rate',
  'net-latency',
] as const;
type Fault = (typeof FAULTS)[number];
const NETWORK_FAULTS: readonly Fault[] = ['net-drop', 'net-loss', 'net-rate', 'net-latency'];

/** The faults this machine can play: network faults need namespaces (root, iproute2, nftables). */
export function availableFaults(): { faults: readonly Fault[]; skipped: string | undefined } {
  const why = namespacesUnavailable();
  return why === undefined
    ? { faults: FAULTS, skipped: undefined }
    : {
        faults: FAULTS.filter((f) => !NETWORK_FAULTS.includes(f)),
        skipped: `network faults skipped: ${why}`,
      };
}

interface Options {
  readonly rounds: number;
  readonly seed: number;
  readonly keep: boolean;
  readonly maxRssMb: number;
  readonly out: string;
}

function parseOptions(argv: readonly string[]): Options {
  const num = (name: string, fallback: number): number => {
    const v = argValue(argv, name);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new Error(`${name} needs a positive whole number, got ${v ?? ''}`);
    return n;
  };
  return {
    rounds: num('--rounds', 14),
    seed: num('--seed', 1),
    keep: argv.includes('--keep'),
    maxRssMb: num('--max-rss-mb', 300),
    out: resolve(argValue(argv, '--out') ?? 'chaos-results'),
  };
}

/** Record ids are `<gateway>:<store epoch>:<sequence>`. */
const epochOf = (id: string): string => id.split(':').slice(-2, -1)[0] ?? '';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

interface Committed {
  readonly stream: string;
  readonly lane: string;
  readonly tsMs: number;
}

const BUFFER = 'com.edgedr.Buffer';

class Chaos {
  private readonly random: () => number;
  private readonly committed = new Map<string, Committed>();
  /**
   * Store epochs (the middle part of record ids) of files that were damaged and quarantined: their
   * undelivered records stay in the quarantined file, which the Buffer reports with STORE_RECREATED.
   */
  private readonly quarantinedEpochs = new Set<string>();
  private lastEpoch: string | undefined;
  private readonly recreatedEvents: unknown[] = [];
  private replacedDataFiles = 0;
  private deadLetters = 0;
  private compactedRecords = 0;
  private storeEpoch: string | undefined;
  private readonly violations: string[] = [];
  private readonly rounds: { round: number; fault: Fault; detail: string; ms: number }[] = [];
  private readonly peakRssMb: Record<string, number> = {};
  private simTimer: NodeJS.Timeout | undefined;
  private bulkSeq = 0;

  constructor(
    private readonly o: Options,
    private readonly suite: LocalSuite,
    private readonly sim: PumpSimulator,
    private readonly faults: readonly Fault[],
  ) {
    this.random = seededRandom(o.seed);
    const { host } = suite;
    host.subscribe(TOPICS.ingestLive, (_t, p) => {
      for (const r of liveBatchRecords(p))
        this.committed.set(r.id, { stream: r.stream, lane: r.lane, tsMs: r.tsMs });
    });
    host.subscribe(TOPICS.ingestLive, (_t, p) => {
      const first = liveBatchRecords(p)[0];
      if (first !== undefined) this.lastEpoch = epochOf(first.id);
    });
    host.subscribe(TOPICS.bufferEvents, (_t, p) => {
      const event = readObject(p);
      if (event?.['type'] === 'recreated') this.recreatedEvents.push(event);
    });
    host.subscribe(TOPICS.bufferMetrics, (_t, p) => {
      const m = readObject(p) as
        { deadLettersTotal?: number; compactedRecordsTotal?: number; storeEpoch?: string } | undefined;
      this.deadLetters = m?.deadLettersTotal ?? this.deadLetters;
      if (m?.storeEpoch !== this.storeEpoch) this.compactedRecords = 0;
      this.compactedRecords = m?.compactedRecordsTotal ?? this.compactedRecords;
      this.storeEpoch = m?.storeEpoch ?? this.storeEpoch;
    });
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private publish(topic: string, payload: LocalPayload): void {
    this.suite.host.publish(topic, payload);
  }

  startSensors(): void {
    this.simTimer = setInterval(() => {
      for (const r of this.sim.next())
        this.publish(`sensors/${r.deviceId}/telemetry`, {
          kind: 'json',
          message: { ts: r.tsMs, ...r.measurements },
        });
    }, 200);
  }

  stopSensors(): void {
    clearInterval(this.simTimer);
  }

  // ---- faults ------------------------------------------------------------------------------------

  /** SIGKILLs a component; it is back only once a new process runs (the old may look RUNNING a moment). */
  private async killAndAwaitRestart(name: string, what: string): Promise<void> {
    const { launcher, host } = this.suite;
    const pid = launcher.pid(name);
    launcher.signal(name, 'SIGKILL');
    const restarted = await until(
      () => launcher.pid(name) !== pid && host.component(name)?.state === 'RUNNING',
      60_000,
    );
    if (!restarted) this.violations.push(`${name} did not come back after ${what}`);
  }

  /** A packet-level fault on one region's link for a while, then a clean link again. */
  private async onLink(
    what: (region: LocalRegion) => string,
    apply: (network: NonNullable<LocalRegion['network']>) => void,
  ): Promise<string> {
    const region = this.pick([this.suite.regions.a, this.suite.regions.b]);
    const network = region.network;
    if (network === undefined) throw new Error(`${region.name} has no network of its own`);
    const ms = 3_000 + Math.round(this.random() * 3_000);
    apply(network);
    await sleep(ms);
    network.clear();
    return `${what(region)} for ${ms} ms`;
  }

  private async fault(kind: Fault): Promise<string> {
    const { launcher, regions, host } = this.suite;
    switch (kind) {
      case 'net-drop':
        return this.onLink(
          (r) => `every packet to and from ${r.name} dropped`,
          (n) => n.drop(),
        );
      case 'net-loss': {
        const percent = 10 + Math.round(this.random() * 20);
        return this.onLink(
          (r) => `${percent} % random packet loss on ${r.name}`,
          (n) => n.loss(percent),
        );
      }
      case 'net-rate':
        // A 1 Mbit/s cellular uplink.
        return this.onLink(
          (r) => `${r.name} limited to 1 Mbit/s`,
          (n) => n.rateLimit(125_000),
        );
      case 'net-latency': {
        const latencyMs = 200 + Math.round(this.random() * 600);
        return this.onLink(
          (r) => `${latencyMs} ms added each way on ${r.name}`,
          (n) => n.latency(latencyMs),
        );
      }
      case 'kill-component': {
        const name = this.pick(SUITE_COMPONENTS);
        await sleep(this.random() * 2_000);
        await this.killAndAwaitRestart(name, 'SIGKILL');
        return `SIGKILL ${name}`;
      }
      case 'stop-region': {
        const region = this.pick([regions.a, regions.b]);
        const ms = 2_000 + Math.round(this.random() * 4_000);
        region.pause();
        await sleep(ms);
        region.resume();
        return `SIGSTOP ${region.name} for ${ms} ms`;
      }
      case 'kill-region': {
        const region = this.pick([regions.a, regions.b]);
        const ms = 1_000 + Math.round(this.random() * 4_000);
        await region.kill();
        await sleep(ms);
        await region.start();
        return `SIGKILL ${region.name}, restarted after ${ms} ms`;
      }
      case 'quota': {
        // Both regions down while ~12 MB of bulky readings arrive: past the 8 MiB quota.
        regions.a.pause();
        regions.b.pause();
        for (let i = 0; i < 1_500; i++) {
          // About 8 KB: eight 1,000-character strings (Ingest's longest) and a sequence number.
          const fields: Record<string, number | string> = { ts: Date.now(), seq: this.bulkSeq };
          for (let f = 0; f < 8; f++) fields[`note${f}`] = `${this.bulkSeq}:${f}:`.padEnd(1_000, 'x');
          this.bulkSeq += 1;
          this.publish(`sensors/filler-${i % 3}/bulk`, { kind: 'json', message: fields });
          if (i % 100 === 0) await sleep(50);
        }
        await sleep(3_000);
        regions.a.resume();
        regions.b.resume();
        return 'both regions stopped, 1,500 readings of 8 KB';
      }
      case 'corrupt-store': {
        const buffer = 'com.edgedr.Buffer';
        const path = join(launcher.workPath(buffer), 'store', 'records.db');
        // Let the backlog drain first, so what the damaged file still holds is small and known.
        await until(() => this.undelivered().length === 0, 20_000);
        await launcher.stop(buffer);
        const inFile = this.undelivered();
        if (this.lastEpoch !== undefined) this.quarantinedEpochs.add(this.lastEpoch);
        const fd = openSync(path, 'r+');
        writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
        closeSync(fd);
        await launcher.launch([buffer]);
        return `overwrote the header of ${path}; ${inFile.length} undelivered records were in it`;
      }
      case 'replace-store': {
        const path = join(launcher.workPath(BUFFER), 'store', 'records.db');
        const how = this.pick(['copy-over-path', 'delete-path', 'copy-over-data'] as const);
        if (how === 'copy-over-path') {
          // `cp records.db c && mv c records.db` under the running suite: the owner puts its link back.
          copyFileSync(path, `${path}.c`);
          renameSync(`${path}.c`, path);
        } else if (how === 'delete-path') {
          rmSync(path);
        } else {
          // The data file itself replaced by a copy: that store epoch ends, and what it had not
          // delivered is named by a gap marker in the next store (and STORE_RECREATED).
          await until(() => this.undelivered().length === 0, 20_000);
          const target = join(dirname(path), readlinkSync(path));
          if (this.lastEpoch !== undefined) this.quarantinedEpochs.add(this.lastEpoch);
          this.replacedDataFiles += 1;
          copyFileSync(target, `${target}.c`);
          renameSync(`${target}.c`, target);
        }
        const repaired = await until(() => {
          try {
            return lstatSync(path).isSymbolicLink() && existsSync(path);
          } catch {
            return false;
          }
        }, 20_000);
        if (!repaired) this.violations.push(`replace-store (${how}): the store path was not restored`);
        return `store ${how}`;
      }
      case 'kill-compaction': {
        // A backlog old enough to be compacted (both regions down), and the Buffer SIGKILLed while it
        // moves the backlog into blocks.
        regions.a.pause();
        regions.b.pause();
        const before = this.compactedRecords;
        const t0 = Date.now() - 15 * 60_000;
        for (let i = 0; i < 4_000; i++) {
          const x = this.random();
          this.publish(`sensors/archive-${i % 4}/telemetry`, {
            kind: 'json',
            message: {
              ts: t0 + i * 50,
              current: Number((1.2 + x / 3).toFixed(5)),
              voltage: Number((230 + x * 9).toFixed(3)),
            },
          });
          if (i % 200 === 0) await sleep(20);
        }
        const started = await until(() => this.compactedRecords > before, 60_000);
        if (!started) this.violations.push('kill-compaction: the backlog was not compacted');
        await sleep(this.random() * 300);
        await this.killAndAwaitRestart(BUFFER, 'SIGKILL during compaction');
        regions.a.resume();
        regions.b.resume();
        return `4,000 old readings compacted (${this.compactedRecords - before} so far), Buffer SIGKILLed mid-compaction`;
      }
      case 'malformed-storm': {
        const before = this.deadLetters;
        const bad: LocalPayload[] = [
          { kind: 'binary', base64: Buffer.from('not json {').toString('base64') },
          { kind: 'json', message: [1, 2, 3] },
          { kind: 'json', message: { ts: 'yesterday', current: 1 } },
          { kind: 'json', message: { ts: Date.now() } },
          { kind: 'json', message: { ts: Date.now() + 86_400_000, current: 1 } },
          { kind: 'binary', base64: Buffer.alloc(40_000, 0x41).toString('base64') },
        ];
        for (let i = 0; i < 2_000; i++) this.publish(`sensors/bad-${i % 7}/telemetry`, this.pick(bad));
        if (!(await until(() => this.deadLetters >= before + 2_000, 20_000)))
          this.violations.push(
            `malformed storm: ${this.deadLetters - before} of 2,000 payloads dead-lettered`,
          );
        return `2,000 malformed payloads; dead letters ${before} -> ${this.deadLetters}`;
      }
      case 'invalid-deployment': {
        const name = this.pick(SUITE_COMPONENTS);
        const current = host.component(name)?.configuration ?? {};
        const verdict = await host.deploy(name, { ...current, logLevel: 'loud', metricsIntervalMs: 'often' });
        if (verdict.status !== 'REJECTED') this.violations.push(`${name} accepted an invalid configuration`);
        return `${name}: ${verdict.status} (${verdict.message ?? ''})`.slice(0, 200);
      }
    }
  }

  // ---- invariants --------------------------------------------------------------------------------

  private deliveredIds(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const c of [this.suite.cloud.a, this.suite.cloud.b])
      for (const b of c.batches)
        for (const r of b.records) out.set(r.id, [...(out.get(r.id) ?? []), JSON.stringify(r)]);
    return out;
  }

  private gapCovered(): (c: Committed) => boolean {
    const coverage = GapCoverage.of(
      [this.suite.cloud.a, this.suite.cloud.b].flatMap((c) => c.batches.flatMap((b) => b.records)),
    );
    return (c) => coverage.covers(c);
  }

  /** Committed, not delivered, and not named by a gap marker (or already counted with a damaged file). */
  private quarantined(id: string): boolean {
    return this.quarantinedEpochs.has(epochOf(id));
  }

  private undelivered(): string[] {
    const delivered = this.deliveredIds();
    const covered = this.gapCovered();
    return [...this.committed]
      .filter(([id, c]) => !delivered.has(id) && !covered(c) && !this.quarantined(id))
      .map(([id]) => id);
  }

  private async settle(round: number): Promise<void> {
    const { launcher, host } = this.suite;
    const running = await until(
      () => SUITE_COMPONENTS.every((n) => host.component(n)?.state === 'RUNNING'),
      60_000,
    );
    if (!running)
      this.violations.push(
        `round ${round}: not RUNNING: ${SUITE_COMPONENTS.filter((n) => host.component(n)?.state !== 'RUNNING').join(', ')}`,
      );
    for (const name of SUITE_COMPONENTS) {
      const pid = nodePidInGroup(launcher.pid(name) ?? -1);
      if (pid === undefined) continue;
      const mb = rssBytes(pid) / 1e6;
      this.peakRssMb[name] = Math.max(this.peakRssMb[name] ?? 0, Math.round(mb));
      if (mb > this.o.maxRssMb) this.violations.push(`round ${round}: ${name} RSS ${mb.toFixed(0)} MB`);
    }
  }

  async run(): Promise<Record<string, unknown>> {
    this.startSensors();
    await sleep(3_000);
    // Every kind of fault early, in a seeded order, then seeded random ones.
    const order = [...this.faults].sort(() => this.random() - 0.5);
    for (let round = 1; round <= this.o.rounds; round++) {
      const kind = round <= order.length ? order[round - 1]! : this.pick(this.faults);
      const started = Date.now();
      const detail = await this.fault(kind);
      await this.settle(round);
      this.rounds.push({ round, fault: kind, detail, ms: Date.now() - started });
      console.log(`round ${round}/${this.o.rounds}: ${kind}: ${detail} (${Date.now() - started} ms)`);
      await sleep(1_000);
    }
    this.stopSensors();
    const drained = await until(() => {
      const delivered = this.deliveredIds();
      const isCovered = this.gapCovered();
      return [...this.committed].every(
        ([id, c]) => delivered.has(id) || this.quarantined(id) || isCovered(c),
      );
    }, 180_000);
    const delivered = this.deliveredIds();
    const isCovered = this.gapCovered();
    let lost = 0;
    let evicted = 0;
    let quarantined = 0;
    /** Where the lost ones were: per store epoch and stream, with a few ids. */
    const lostBy: Record<string, { records: number; ids: string[] }> = {};
    for (const [id, c] of this.committed) {
      if (delivered.has(id)) continue;
      if (isCovered(c)) evicted += 1;
      else if (this.quarantined(id)) quarantined += 1;
      else {
        lost += 1;
        const key = `${epochOf(id)} ${c.lane}:${c.stream}`;
        const entry = (lostBy[key] ??= { records: 0, ids: [] });
        entry.records += 1;
        if (entry.ids.length < 5) entry.ids.push(id);
      }
    }
    if (!drained || lost > 0)
      this.violations.push(`${lost} committed records neither delivered nor accounted for`);
    let duplicates = 0;
    for (const [id, copies] of delivered) {
      if (copies.length < 2) continue;
      duplicates += copies.length - 1;
      if (new Set(copies).size !== 1)
        this.violations.push(`record ${id} arrived twice with different contents`);
    }
    if (this.quarantinedEpochs.size > 0 && this.recreatedEvents.length === 0)
      this.violations.push('a damaged store file was replaced without a STORE_RECREATED event');
    if (this.recreatedEvents.length < this.replacedDataFiles)
      this.violations.push('a replaced data file ended its epoch without a STORE_RECREATED event');
    return {
      seed: this.o.seed,
      rounds: this.rounds,
      committed: this.committed.size,
      delivered: [...this.committed.keys()].filter((id) => delivered.has(id)).length,
      evictedInGapMarkers: evicted,
      quarantined,
      lost,
      lostBy,
      duplicates,
      storeRecreatedEvents: this.recreatedEvents.length,
      peakRssMb: this.peakRssMb,
      violations: this.violations,
      passed: this.violations.length === 0,
    };
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  console.log(`chaos: ${o.rounds} rounds, seed ${o.seed}`);
  const { faults, skipped } = availableFaults();
  if (skipped !== undefined) console.log(skipped);
  const suite = await startLocalSuite({
    thing: THING,
    ownNetworks: skipped === undefined,
    keep: o.keep,
    restartDelayMs: 500,
    maxErrors: 1_000_000,
    overrides: () => ({
      'com.edgedr.Buffer': {
        maintenanceIntervalMs: 500,
        metricsIntervalMs: 500,
        store: {
          maxStoreBytes: 8 * 1024 * 1024,
          maxRecordBodyBytes: 16 * 1024,
          // Small blocks, written at once: a chaos round's backlog is compacted while it runs.
          compaction: { minBlockRecords: 200, maxBlockBytes: 16 * 1024, maxWaitMs: 0 },
        },
      },
      'com.edgedr.Ingest': { metricsIntervalMs: 1_000 },
      'com.edgedr.Inference': { calibration: { onStart: false } },
      'com.edgedr.Replay': {
        health: { probeIntervalMs: 500, failbackHoldMs: 3_000 },
        connection: { ackTimeoutSeconds: 2, minReconnectDelayMs: 200, maxReconnectDelayMs: 1_000 },
        batching: { maxEnvelopeBytes: 64 * 1024 },
      },
    }),
  });
  let passed = false;
  try {
    const sim = new PumpSimulator(
      o.seed,
      ['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5'],
      Date.now(),
      200,
    );
    const summary = await new Chaos(o, suite, sim, faults).run();
    passed = summary['passed'] === true;
    mkdirSync(o.out, { recursive: true });
    const file = join(o.out, 'chaos.json');
    writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...summary }, null, 2)}\n`);
    const { rounds: _rounds, ...brief } = summary;
    console.log(JSON.stringify(brief, null, 2));
    console.log(`${passed ? 'PASSED' : 'FAILED'}; summary: ${file}`);
  } finally {
    await suite.stop();
  }
  process.exit(passed ? 0 : 1);
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
