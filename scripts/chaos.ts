/**
 * The chaos suite: `npm run chaos [-- --rounds N --seed N --keep]`.
 *
 * The whole suite runs (two local TLS regions, the four components from their recipes, simulated
 * pumps) while seeded, randomized faults hit it, one per round: SIGKILL of a component at a random
 * moment, SIGSTOP or SIGKILL and restart of a region, the store pushed past its quota with both regions
 * down, a corrupted store file, the store file replaced or deleted under the running suite, the Buffer
 * SIGKILLed while it compacts a backlog into blocks, the store's filesystem (a tmpfs of its own) filled
 * by another writer, another process holding the store's write lock for seconds, packet-level faults
 * between Replay and a region, a storm of malformed payloads, and a deployment with an invalid
 * configuration. `--faults a,b` plays only those. After each round: every component back to RUNNING and its memory bounded. At the end,
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
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { liveBatchRecords, readObject, TOPICS } from '../shared/src/messages';
import { argValue } from '../dev/args';
import { nodePidInGroup, rssBytes } from '../dev/proc';
import { PumpSimulator, seededRandom } from '../dev/pump-simulator';
import { startLocalSuite, SUITE_COMPONENTS, type LocalSuite } from '../dev/suite';
import type { LocalPayload } from '../shared/src/runtime/host/ipc-host';
import { GapCoverage } from '../shared/src/gap-markers';
import { storeSettingsSchema } from '../shared/src/store/settings';
import { namespacesUnavailable } from '../dev/netns';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../dev/small-disk';
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
  // The store on a real small filesystem that fills up; another process holding the write lock.
  'disk-fill',
  'lock-holder',
  'malformed-storm',
  'invalid-deployment',
  // At the packet level, between Replay and a region in a network namespace of its own.
  'net-drop',
  'net-loss',
  'net-rate',
  'net-latency',
] as const;
type Fault = (typeof FAULTS)[number];
/** The store's live window (the suite runs with the default): telemetry newer than it is not compacted. */
const LIVE_WINDOW_MS = storeSettingsSchema.parse({}).liveWindowMs;
const NETWORK_FAULTS: readonly Fault[] = ['net-drop', 'net-loss', 'net-rate', 'net-latency'];

/**
 * The faults this machine can play: network faults need namespaces (root, iproute2, nftables), the
 * disk filling needs a tmpfs (root).
 */
export function availableFaults(): { faults: readonly Fault[]; skipped: string | undefined } {
  const noNetwork = namespacesUnavailable();
  const noDisk = smallDiskUnavailable();
  const skipped = [
    ...(noNetwork === undefined ? [] : [`network faults skipped: ${noNetwork}`]),
    ...(noDisk === undefined ? [] : [`disk-fill skipped: ${noDisk}`]),
  ];
  return {
    faults: FAULTS.filter(
      (f) =>
        !(noNetwork !== undefined && NETWORK_FAULTS.includes(f)) &&
        !(noDisk !== undefined && f === 'disk-fill'),
    ),
    skipped: skipped.length === 0 ? undefined : skipped.join('; '),
  };
}

const mb = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The store's filesystem in chaos runs, when a tmpfs can be mounted: small enough to fill. */
const DISK_BYTES = 48 * 1024 * 1024;
/** What the disk-fill fault leaves free on it (the store's reserve is 5 % of the filesystem). */
const DISK_LEFT_FREE = 4 * 1024 * 1024;

interface Options {
  readonly rounds: number;
  readonly seed: number;
  readonly keep: boolean;
  readonly maxRssMb: number;
  readonly out: string;
  /** Only these faults (all that the machine can play when unset). */
  readonly only: readonly string[] | undefined;
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
    only: argValue(argv, '--faults')
      ?.split(',')
      .map((f) => f.trim()),
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
  /** The store's quota as Buffer's last metrics gave it, for the disk-fill fault's report. */
  private storeQuota = 'no Buffer metrics yet';
  private storeEpoch: string | undefined;
  private readonly violations: string[] = [];
  private readonly rounds: { round: number; fault: Fault; detail: string; ms: number }[] = [];
  private readonly peakRssMb: Record<string, number> = {};
  private simTimer: NodeJS.Timeout | undefined;
  private bulkSeq = 0;
  /** Readings the simulated pumps published. */
  private sensorReadings = 0;
  /** Ingest's last metrics (its counters start again when it restarts). */
  private ingest = { accepted: 0, storeFailures: 0, storeRetries: 0 };
  private readonly evictionsBy: Record<string, number> = {};

  constructor(
    private readonly o: Options,
    private readonly suite: LocalSuite,
    private readonly sim: PumpSimulator,
    private readonly faults: readonly Fault[],
    /** The store's path (the Buffer's storePath), on the small disk when there is one. */
    private readonly storePath: string,
    private readonly disk: SmallDisk | undefined,
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
      if (event?.['type'] === 'eviction') {
        const report = event['report'] as { reason?: string } | undefined;
        const key = `${String(event['component'])}:${report?.reason ?? '?'}`;
        this.evictionsBy[key] = (this.evictionsBy[key] ?? 0) + 1;
      }
    });
    host.subscribe(TOPICS.ingestMetrics, (_t, p) => {
      const m = readObject(p) as Partial<typeof this.ingest> | undefined;
      this.ingest = {
        accepted: m?.accepted ?? this.ingest.accepted,
        storeFailures: m?.storeFailures ?? this.ingest.storeFailures,
        storeRetries: m?.storeRetries ?? this.ingest.storeRetries,
      };
    });
    host.subscribe(TOPICS.bufferMetrics, (_t, p) => {
      const m = readObject(p) as
        | {
            deadLettersTotal?: number;
            compactedRecordsTotal?: number;
            storeEpoch?: string;
            diskBound?: boolean;
            effectiveLimitBytes?: number;
            bytesAtRest?: number;
          }
        | undefined;
      if (m?.effectiveLimitBytes !== undefined)
        this.storeQuota = `limit ${mb(m.effectiveLimitBytes)}, at rest ${mb(m.bytesAtRest ?? 0)}, ${m.diskBound === true ? 'disk-bound' : 'quota-bound'}`;
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
      for (const r of this.sim.next()) {
        this.sensorReadings += 1;
        this.publish(`sensors/${r.deviceId}/telemetry`, {
          kind: 'json',
          message: { ts: r.tsMs, ...r.measurements },
        });
      }
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
        const path = this.storePath;
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
        const path = this.storePath;
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
        // moves the backlog into blocks. Compaction takes rows in sequence order and stops at the first
        // live one, so live readings left undelivered by the round before (a quota round leaves many)
        // hold it back until they leave the live window: the wait allows for that.
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
        const waitFrom = Date.now();
        const started = await until(() => this.compactedRecords > before, LIVE_WINDOW_MS + 30_000);
        const waitedMs = Date.now() - waitFrom;
        if (!started) this.violations.push('kill-compaction: the backlog was not compacted');
        await sleep(this.random() * 300);
        await this.killAndAwaitRestart(BUFFER, 'SIGKILL during compaction');
        regions.a.resume();
        regions.b.resume();
        return `4,000 old readings compacted (${this.compactedRecords - before} so far, first after ${waitedMs} ms), Buffer SIGKILLed mid-compaction`;
      }
      case 'disk-fill':
        return this.fillDisk();
      case 'lock-holder':
        return this.holdWriteLock();
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

  /**
   * Readings that arrive while the store cannot take them are waited out, never refused: Ingest commits
   * every one later (its `accepted` catches up with what was sent) and counts no store failure.
   */
  private async noReadingRefused(
    what: string,
    before: { accepted: number; storeFailures: number },
    sent: number,
  ): Promise<void> {
    const caughtUp = await until(() => this.ingest.accepted >= before.accepted + sent, 60_000);
    if (!caughtUp)
      this.violations.push(
        `${what}: Ingest committed ${this.ingest.accepted - before.accepted} of ${sent} readings sent meanwhile`,
      );
    if (this.ingest.storeFailures > before.storeFailures)
      this.violations.push(
        `${what}: ${this.ingest.storeFailures - before.storeFailures} readings refused by the store`,
      );
  }

  /**
   * The store's filesystem filled by another writer (a log gone wild) with both regions down: the
   * store evicts its oldest telemetry with gap markers (reason disk) instead of refusing readings.
   */
  private async fillDisk(): Promise<string> {
    const disk = this.disk as SmallDisk;
    const { regions } = this.suite;
    regions.a.pause();
    regions.b.pause();
    const filler = join(disk.path, 'filler.bin');
    const fd = openSync(filler, 'w', 0o600);
    let filled = 0;
    try {
      const chunk = Buffer.alloc(256 * 1024, 0x46);
      for (;;) {
        const fs = statfsSync(disk.path);
        const free = fs.bavail * fs.bsize;
        if (free <= DISK_LEFT_FREE + chunk.length) break;
        writeSync(fd, chunk);
        filled += chunk.length;
      }
    } finally {
      closeSync(fd);
    }
    const before = { ...this.ingest };
    const diskEvictions = (): number =>
      Object.entries(this.evictionsBy).reduce((n, [k, v]) => n + (k.endsWith(':disk') ? v : 0), 0);
    const evictedBefore = diskEvictions();
    const sentBefore = this.sensorReadings;
    let bulky = 0;
    for (let i = 0; i < 1_200; i++) {
      const fields: Record<string, number | string> = { ts: Date.now(), seq: this.bulkSeq };
      for (let f = 0; f < 8; f++) fields[`note${f}`] = `${this.bulkSeq}:${f}:`.padEnd(1_000, 'x');
      this.bulkSeq += 1;
      bulky += 1;
      this.publish(`sensors/filler-${i % 3}/bulk`, { kind: 'json', message: fields });
      if (i % 100 === 0) await sleep(50);
    }
    const evicted = await until(() => diskEvictions() > evictedBefore, 30_000);
    if (!evicted)
      this.violations.push(`disk-fill: no eviction for the full disk (store: ${this.storeQuota})`);
    await this.noReadingRefused('disk-fill', before, bulky + this.sensorReadings - sentBefore);
    rmSync(filler, { force: true });
    regions.a.resume();
    regions.b.resume();
    return `filesystem filled with ${Math.round(filled / 1e6)} MB to ${DISK_LEFT_FREE / 1024 ** 2} MiB free, ${bulky} readings of 8 KB; ${diskEvictions() - evictedBefore} disk evictions (store: ${this.storeQuota})`;
  }

  /** Another process (a backup, an operator's sqlite3 shell) holds the store's write lock for seconds. */
  private async holdWriteLock(): Promise<string> {
    const holdMs = 6_000 + Math.round(this.random() * 4_000);
    const before = { ...this.ingest };
    const sentBefore = this.sensorReadings;
    const target = join(dirname(this.storePath), readlinkSync(this.storePath));
    const script = [
      `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});`,
      `const db = new Database(${JSON.stringify(target)}, { timeout: 10000 });`,
      "db.prepare('BEGIN IMMEDIATE').run();",
      "process.stdout.write('locked\\n');",
      `setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, ${holdMs});`,
    ].join('\n');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const code = await exited;
    if (code !== 0 || !out.includes('locked'))
      this.violations.push(`lock-holder: the foreign process failed (${code}): ${out.slice(0, 300)}`);
    await this.noReadingRefused('lock-holder', before, this.sensorReadings - sentBefore);
    return `write lock held by another process for ${holdMs} ms; Ingest retried ${this.ingest.storeRetries - before.storeRetries} commits`;
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
  const available = availableFaults();
  const { skipped } = available;
  if (skipped !== undefined) console.log(skipped);
  const unknown = (o.only ?? []).filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0)
    throw new Error(`unknown faults: ${unknown.join(', ')} (known: ${FAULTS.join(', ')})`);
  const faults = available.faults.filter((f) => o.only === undefined || o.only.includes(f));
  if (faults.length === 0) throw new Error('none of the chosen faults can be played on this machine');
  // The store on a small filesystem of its own when one can be mounted, so that the disk can fill.
  const disk = faults.includes('disk-fill') ? mountSmallDisk(DISK_BYTES, 'ggdr-chaos-disk-') : undefined;
  const storePath = disk === undefined ? undefined : join(disk.path, 'records.db');
  let suite: LocalSuite;
  try {
    suite = await startChaosSuite(
      o,
      faults.some((f) => NETWORK_FAULTS.includes(f)),
      storePath,
    );
  } catch (err) {
    disk?.unmount();
    throw err;
  }
  let passed = false;
  try {
    const sim = new PumpSimulator(
      o.seed,
      ['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5'],
      Date.now(),
      200,
    );
    const path = storePath ?? join(suite.launcher.workPath(BUFFER), 'store', 'records.db');
    const summary = await new Chaos(o, suite, sim, faults, path, disk).run();
    passed = summary['passed'] === true;
    mkdirSync(o.out, { recursive: true });
    const file = join(o.out, 'chaos.json');
    writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...summary }, null, 2)}\n`);
    const { rounds: _rounds, ...brief } = summary;
    console.log(JSON.stringify(brief, null, 2));
    console.log(`${passed ? 'PASSED' : 'FAILED'}; summary: ${file}`);
  } finally {
    await suite.stop();
    disk?.unmount();
  }
  process.exit(passed ? 0 : 1);
}

function startChaosSuite(
  o: Options,
  ownNetworks: boolean,
  storePath: string | undefined,
): Promise<LocalSuite> {
  return startLocalSuite({
    thing: THING,
    ownNetworks,
    keep: o.keep,
    restartDelayMs: 500,
    maxErrors: 1_000_000,
    overrides: () => ({
      'com.edgedr.Buffer': {
        ...(storePath === undefined ? {} : { storePath }),
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
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
