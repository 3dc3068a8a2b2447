/**
 * The suite's main job, locally: `npm start` plays a disaster end to end.
 *
 * Two local regions (Mosquitto with TLS and client certificates generated on the fly), the four
 * components from their recipes under the local IPC host, and a pump simulator with injected faults.
 * Scenario: normal operation; region A black-holed (SIGSTOP) and failover to B; both regions down
 * (the backlog grows, Inference keeps alarming locally); recovery (live data first, the backlog drains);
 * fail-back to A. A live status line while it runs, then a report, also written as JSON to
 * demo-results/report.json and drawn as a timeline in demo-results/timeline.svg. Exits non-zero if any
 * record was lost.
 *
 *   npm start                     about two minutes
 *   npm start -- --long           about ten minutes
 *   npm start -- --scale 3        phases three times the short length
 *   npm start -- --pumps 40 --hz 10 --keep
 *   npm start -- --status         also the status page (com.edgedr.Status) on 127.0.0.1:8470
 */
import { execFileSync } from 'node:child_process';
import { readObject, TOPICS } from '../shared/src/messages';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { argValue } from '../dev/args';
import type { RegionConsumer } from '../dev/consumer';
import { accountDetections, faultPlan, FaultLog, type DetectionReport, type Onset } from '../dev/detection';
import { memoryTrends, pssBytes, type MemorySample, type MemoryTrend } from '../dev/memory';
import { nodePidInGroup } from '../dev/proc';
import { DEMO_HZ, DEMO_PUMPS, demoOverrides, pumpIds, startPumpLoad } from '../dev/demo-load';
import { PumpSimulator } from '../dev/pump-simulator';
import type { LocalRegion } from '../dev/regions';
import { startLocalSuite, STATUS_COMPONENT_NAME, statusPageUrl, SUITE_COMPONENTS } from '../dev/suite';
import { inferenceConfigSchema } from '../components/inference/src/config';
import { statusConfigSchema } from '../components/status/src/config';
import type { ComponentLauncher } from '../shared/src/runtime/host/launcher';
import type { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import { GapCoverage } from '../shared/src/gap-markers';
import { demoTimelineSvg, type TimelineSample } from '../dev/demo-timeline';

const THING = 'demo-gateway';
/** The status page's port with `--status`: its configuration's default. */
const STATUS_PORT = statusConfigSchema.parse({}).port;
/** How long each injected fault lasts, in the simulator's clock. */
const FAULT_DURATION_MS = 20_000;
/** How often the components' memory is sampled. */
const MEMORY_SAMPLE_MS = 5_000;
/** How often the timeline picture's figures are taken. */
const TIMELINE_SAMPLE_MS = 1_000;

interface Options {
  readonly scale: number;
  readonly pumps: number;
  readonly hz: number;
  readonly seed: number;
  readonly keep: boolean;
  readonly out: string;
  /** Also run the status page, on loopback at this port (0: any free one); undefined: not at all. */
  readonly statusPort: number | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => argValue(argv, name);
  const num = (name: string, fallback: number): number => {
    const v = value(name);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${v ?? ''}`);
    return n;
  };
  return {
    scale: argv.includes('--long') ? 5 : num('--scale', 1),
    pumps: Math.round(num('--pumps', DEMO_PUMPS)),
    hz: num('--hz', DEMO_HZ),
    seed: Math.round(num('--seed', 42)),
    keep: argv.includes('--keep'),
    out: resolve(value('--out') ?? 'demo-results'),
    statusPort: statusPort(argv),
  };
}

function statusPort(argv: readonly string[]): number | undefined {
  const v = argValue(argv, '--status-port');
  if (v === undefined) return argv.includes('--status') ? STATUS_PORT : undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new Error(`--status-port needs a port number (0 for any free one), got ${v}`);
  return n;
}

function need(command: string, args: readonly string[], install: string): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    console.error(`The demo needs ${command}: run '${install}', then npm start again.`);
    process.exit(1);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Demo {
  private produced = new Map<string, number>(); // `${deviceId}|${tsMs}` -> tsMs
  private readonly faults = new FaultLog();
  private readonly onsets: Onset[] = [];
  private inferenceReadings = 0;
  /** Windows Inference has built, and those it is done with (scored, failed or left unscored). */
  private inferenceWindows = { built: 0, done: 0 };
  private readonly memory: MemorySample[] = [];
  private memoryTimer: NodeJS.Timeout | undefined;
  private readonly timeline: TimelineSample[] = [];
  private timelineTimer: NodeJS.Timeout | undefined;
  private buffer: { depth: number; alert: number; telemetry: number } = { depth: 0, alert: 0, telemetry: 0 };
  private peakBacklog = 0;
  private replayStatus: Record<string, unknown> = {};
  private ingestAccepted = 0;
  private phase = 'starting';
  private readonly phaseLog: { phase: string; atMs: number }[] = [];
  private load: { stop(): void } | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatusAt = 0;
  private lastDelivered = 0;
  private lastStored = 0;

  constructor(
    private readonly o: Options,
    private readonly host: LocalIpcHost,
    private readonly regions: { a: LocalRegion; b: LocalRegion },
    private readonly cloud: { a: RegionConsumer; b: RegionConsumer },
    private readonly sim: PumpSimulator,
    private readonly launcher: ComponentLauncher,
    private readonly lastFaultEndMs: number,
  ) {
    host.subscribe(TOPICS.bufferMetrics, (_t, p) => {
      const lanes = (readObject(p) as { lanes?: Record<string, { depth: number }> } | undefined)?.lanes ?? {};
      const alert = lanes['alert']?.depth ?? 0;
      const telemetry = lanes['telemetry']?.depth ?? 0;
      this.buffer = { depth: alert + telemetry, alert, telemetry };
      this.peakBacklog = Math.max(this.peakBacklog, alert + telemetry);
    });
    host.subscribe(TOPICS.replayStatus, (_t, p) => {
      this.replayStatus = readObject(p) ?? this.replayStatus;
    });
    host.subscribe(TOPICS.ingestMetrics, (_t, p) => {
      // Readings stored: everything accepted except Inference's anomaly events.
      const m = readObject(p) as { accepted?: number; anomalies?: number } | undefined;
      if (m === undefined) return;
      if (m.accepted !== undefined) this.ingestAccepted = m.accepted - (m.anomalies ?? 0);
    });
    host.subscribe(TOPICS.inferenceAlerts, (_t, p) => {
      const e = readObject(p) as { type?: string; asset: string; state: string; atMs: number } | undefined;
      if (e?.type === 'anomaly' && e.state === 'onset') this.onsets.push({ asset: e.asset, atMs: e.atMs });
    });
    host.subscribe(TOPICS.inferenceMetrics, (_t, p) => {
      const m = readObject(p) as
        | {
            readings?: number;
            windows?: number;
            windowsScored?: number;
            failedWindows?: number;
            unscoredWindows?: number;
          }
        | undefined;
      if (typeof m?.readings === 'number') this.inferenceReadings = m.readings;
      if (typeof m?.windows === 'number')
        this.inferenceWindows = {
          built: m.windows,
          done: (m.windowsScored ?? 0) + (m.failedWindows ?? 0) + (m.unscoredWindows ?? 0),
        };
    });
  }

  // ---- the simulator -------------------------------------------------------------------------------

  /**
   * Readings at the configured rate by the wall clock (dev/demo-load.ts). The readings' timestamps are
   * the simulator's own; faults start by the simulator's clock.
   */
  startSimulator(): void {
    this.load = startPumpLoad(this.host, this.sim, this.o.hz, (r) => {
      this.produced.set(`${r.deviceId}|${r.tsMs}`, r.tsMs);
      this.faults.observe(r);
    });
  }

  stopSimulator(): void {
    this.load?.stop();
  }

  /** PSS of each component's node process, every few seconds, tagged with the phase. */
  startMemory(): void {
    const sample = (): void => {
      const pssMb: Record<string, number | null> = {};
      for (const name of SUITE_COMPONENTS) {
        const pid = nodePidInGroup(this.launcher.pid(name) ?? -1);
        const bytes = pid === undefined ? null : pssBytes(pid);
        pssMb[name.replace('com.edgedr.', '')] = bytes === null ? null : Math.round(bytes / 1e5) / 10;
      }
      this.memory.push({ atMs: Date.now(), phase: this.phase, pssMb });
    };
    sample();
    this.memoryTimer = setInterval(sample, MEMORY_SAMPLE_MS);
  }

  /** Every second: readings produced and stored, the backlog per lane, what each region received. */
  startTimeline(): void {
    const sample = (): void => {
      const d = this.delivered();
      this.timeline.push({
        atMs: Date.now(),
        produced: this.produced.size,
        stored: this.ingestAccepted,
        backlogAlert: this.buffer.alert,
        backlogTelemetry: this.buffer.telemetry,
        deliveredA: d.a,
        deliveredB: d.b,
      });
    };
    sample();
    this.timelineTimer = setInterval(sample, TIMELINE_SAMPLE_MS);
  }

  // ---- status --------------------------------------------------------------------------------------

  private delivered(): { a: number; b: number; unique: number } {
    const unique = new Set<string>();
    const count = (c: RegionConsumer): number => {
      let n = 0;
      for (const b of c.batches)
        for (const r of b.records) {
          if (r.lane !== 'telemetry') continue;
          n += 1;
          unique.add(r.id);
        }
      return n;
    };
    return { a: count(this.cloud.a), b: count(this.cloud.b), unique: unique.size };
  }

  startStatus(): void {
    const tty = process.stdout.isTTY;
    this.statusTimer = setInterval(
      () => {
        const now = Date.now();
        const d = this.delivered();
        const per = (delta: number): number =>
          this.lastStatusAt === 0 ? 0 : (delta * 1000) / Math.max(1, now - this.lastStatusAt);
        const rate = per(d.unique - this.lastDelivered);
        const ingestRate = per(this.ingestAccepted - this.lastStored);
        this.lastStored = this.ingestAccepted;
        this.lastStatusAt = now;
        this.lastDelivered = d.unique;
        const onsets = this.onsets.length;
        const line =
          `[${this.phase}] produced ${this.produced.size} | stored ${this.ingestAccepted} (${Math.round(ingestRate)}/s) | ` +
          `backlog alert ${this.buffer.alert} telemetry ${this.buffer.telemetry} | ` +
          `active ${typeof this.replayStatus['activeRegion'] === 'string' ? this.replayStatus['activeRegion'] : '-'} | ` +
          `delivered A ${d.a} B ${d.b} (${Math.round(rate)}/s) | onsets ${onsets}, faults ${this.faults.windows().length}`;
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else console.log(line);
      },
      tty ? 1_000 : 5_000,
    );
  }

  stopStatus(): void {
    clearInterval(this.statusTimer);
    if (process.stdout.isTTY) process.stdout.write('\n');
  }

  setPhase(phase: string): void {
    this.phase = phase;
    this.phaseLog.push({ phase, atMs: Date.now() });
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`--- ${phase}`);
  }

  // ---- the scenario --------------------------------------------------------------------------------

  async run() {
    const s = this.o.scale;
    const phaseMs = (seconds: number): number => Math.round(seconds * 1_000 * s);
    const during = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) await sleep(200);
    };
    const firstBatchAfter = async (
      c: RegionConsumer,
      fromMs: number,
      timeoutMs: number,
    ): Promise<number | null> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        // A batch of new traffic: it carries readings made after `fromMs` (not a late, stuck one).
        const b = c.batches.find((x) => x.atMs >= fromMs && x.records.some((r) => r.tsMs >= fromMs));
        if (b !== undefined) return b.atMs;
        await sleep(50);
      }
      return null;
    };

    this.startSimulator();
    this.startMemory();
    this.startTimeline();
    this.startStatus();
    this.setPhase('normal operation');
    await during(phaseMs(20));

    this.setPhase('region A black-holed (SIGSTOP)');
    const stoppedAt = Date.now();
    this.regions.a.pause();
    const failoverAt = await firstBatchAfter(this.cloud.b, stoppedAt, 30_000);
    await during(Math.max(0, phaseMs(25) - (Date.now() - stoppedAt)));

    this.setPhase('both regions down (backlog grows, inference keeps alarming)');
    const bothDownAt = Date.now();
    await this.regions.b.kill();
    await during(phaseMs(30));

    this.setPhase('recovery: region B back (live data first, the backlog drains)');
    const recoveredAt = Date.now();
    const arrivedBefore = this.arrivals();
    const backlogKeys = [...this.produced.keys()].filter((k) => !arrivedBefore.has(k));
    await this.regions.b.start();
    const drainDeadline = Date.now() + phaseMs(60);
    while (Date.now() < drainDeadline) {
      const arrived = this.arrivals();
      if (backlogKeys.every((k) => arrived.has(k))) break;
      await sleep(200);
    }
    const arrivals = this.arrivals();
    const backlogDrainedAt = backlogKeys.reduce(
      (t, k) => Math.max(t, arrivals.get(k) ?? Date.now()),
      recoveredAt,
    );
    const firstLive = [...arrivals]
      .filter(([k]) => (this.produced.get(k) ?? 0) >= recoveredAt)
      .sort((x, y) => x[1] - y[1])[0];
    // Live first: the first reading made after the recovery reached the cloud before the backlog was done.
    await during(phaseMs(10));

    this.setPhase('region A back: fail-back after the hold');
    const resumedAt = Date.now();
    this.regions.a.resume();
    const failbackAt = await firstBatchAfter(this.cloud.a, resumedAt, 120_000);
    await during(phaseMs(5));

    // Live operation with the backlog drained: what the components' memory does when nothing is wrong.
    this.setPhase('steady live operation');
    await during(phaseMs(20));
    // Every planned fault runs its whole course before the sensors stop.
    while (this.sim.nextTsMs <= this.lastFaultEndMs + 3_000) await sleep(200);

    this.setPhase('sensors stop; the store drains');
    this.stopSimulator();
    const settleDeadline = Date.now() + 180_000;
    while (Date.now() < settleDeadline && this.coverage().missing > 0) await sleep(250);
    // Inference may still be working through readings: the count waits for it to have seen them all and
    // to be done with every window they made (its events go out before the metrics that count them), not
    // for a fixed time, which a slow machine's scoring queue can outlast.
    const inferenceDeadline = Date.now() + 120_000;
    while (
      Date.now() < inferenceDeadline &&
      (this.inferenceReadings < this.produced.size ||
        this.inferenceWindows.done < this.inferenceWindows.built)
    )
      await sleep(250);
    await sleep(2_000); // late duplicates, last metrics
    clearInterval(this.memoryTimer);
    clearInterval(this.timelineTimer);
    this.stopStatus();
    return this.report({
      moments: {
        'region A stopped': stoppedAt,
        'failover to B': failoverAt,
        'both regions down': bothDownAt,
        'region B back': recoveredAt,
        'backlog drained': backlogDrainedAt,
        'region A back': resumedAt,
        'fail-back to A': failbackAt,
      },
      failoverMs: failoverAt === null ? null : failoverAt - stoppedAt,
      failbackMs: failbackAt === null ? null : failbackAt - resumedAt,
      backlogRecords: backlogKeys.length,
      backlogDrainMs: backlogDrainedAt - recoveredAt,
      backlogDrainedAtMs: backlogDrainedAt,
      drainRecordsPerSec: Math.round(
        (backlogKeys.length * 1000) / Math.max(1, backlogDrainedAt - recoveredAt),
      ),
      firstLiveAfterRecoveryMs: firstLive === undefined ? null : firstLive[1] - recoveredAt,
    });
  }

  /** When each produced reading first reached a region (by device and timestamp). */
  private arrivals(): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of [this.cloud.a, this.cloud.b])
      for (const batch of c.batches)
        for (const r of batch.records) {
          if (r.lane !== 'telemetry') continue;
          const key = `${r.deviceId}|${r.tsMs}`;
          const at = out.get(key);
          if (at === undefined || batch.atMs < at) out.set(key, batch.atMs);
        }
    return out;
  }

  /** Produced readings not delivered and not named by a delivered gap marker. */
  private coverage(): {
    missing: number;
    evictedInGapMarkers: number;
    duplicates: number;
    perRegion: Record<string, number>;
  } {
    const seen = new Map<string, number>();
    const gaps = new GapCoverage();
    const perRegion: Record<string, number> = {};
    for (const c of [this.cloud.a, this.cloud.b]) {
      perRegion[c.region] = 0;
      for (const b of c.batches)
        for (const r of b.records) {
          gaps.add(r);
          if (r.lane !== 'telemetry') continue;
          perRegion[c.region] = (perRegion[c.region] ?? 0) + 1;
          const key = `${r.deviceId}|${r.tsMs}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
    }
    // A reading is accounted for by a gap marker only if the marker names its stream and time (the
    // simulator's readings are on stream telemetry).
    let missing = 0;
    for (const [key, ts] of this.produced)
      if (!seen.has(key) && !gaps.covers({ lane: 'telemetry', stream: 'telemetry', tsMs: ts })) missing += 1;
    const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0);
    return { missing, evictedInGapMarkers: gaps.evictedRecords, duplicates, perRegion };
  }

  private report(timing: {
    moments: Record<string, number | null>;
    failoverMs: number | null;
    failbackMs: number | null;
    backlogRecords: number;
    backlogDrainMs: number;
    backlogDrainedAtMs: number;
    firstLiveAfterRecoveryMs: number | null;
    drainRecordsPerSec: number;
  }) {
    const c = this.coverage();
    const delivered = this.delivered();
    const inference = inferenceConfigSchema.parse({});
    // The detector speaks after a window of readings and n persistence windows.
    const graceMs = Math.ceil(((inference.window.size + inference.persistence.n) * 1_000) / this.o.hz);
    const detection = accountDetections(
      this.faults.windows(),
      this.onsets,
      graceMs,
      this.faults.assetHours(),
    );
    return {
      produced: this.produced.size,
      stored: this.ingestAccepted,
      delivered: delivered.unique,
      deliveredPerRegion: c.perRegion,
      duplicates: c.duplicates,
      lost: c.missing,
      evictedInGapMarkers: c.evictedInGapMarkers,
      failoverMs: timing.failoverMs,
      failbackMs: timing.failbackMs,
      peakBacklog: this.peakBacklog,
      backlogAtRecovery: timing.backlogRecords,
      backlogDrainMs: timing.backlogDrainMs,
      drainRecordsPerSec: timing.drainRecordsPerSec,
      firstLiveAfterRecoveryMs: timing.firstLiveAfterRecoveryMs,
      inferenceReadings: this.inferenceReadings,
      inferenceWindows: this.inferenceWindows,
      detection,
      memory: {
        sampleEveryMs: MEMORY_SAMPLE_MS,
        steadyFromMs: timing.backlogDrainedAtMs,
        trends: memoryTrends(this.memory, timing.backlogDrainedAtMs),
        samples: this.memory,
      },
      phases: this.phaseLog,
      moments: timing.moments,
      timeline: { sampleEveryMs: TIMELINE_SAMPLE_MS, samples: this.timeline },
      settings: { ...this.o, out: undefined },
    };
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  need('openssl', ['version'], 'sudo apt-get install -y openssl');
  console.log(`edge DR demo: ${o.pumps} pumps at ${o.hz} Hz, two local regions, four components`);
  const suite = await startLocalSuite({
    thing: THING,
    keep: o.keep,
    status: o.statusPort !== undefined,
    overrides: () => ({
      ...demoOverrides(o.scale),
      ...(o.statusPort === undefined ? {} : { [STATUS_COMPONENT_NAME]: { port: o.statusPort } }),
    }),
  });
  if (o.statusPort !== undefined)
    await statusPageUrl(suite.launcher.logPath(STATUS_COMPONENT_NAME)).then(
      (url) => console.log(`status page: ${url} (while the demo runs)`),
      (err: unknown) => console.warn(`${err instanceof Error ? err.message : String(err)}; the demo goes on`),
    );
  const pumps = pumpIds(o.pumps);
  let exitCode = 0;
  try {
    // The simulator's clock starts at the wall clock, so its readings are live data; its faults are
    // planned in its own clock, so the same seed puts them on the same readings on any machine.
    const startMs = Date.now();
    const sim = new PumpSimulator(o.seed, pumps, startMs, 1_000 / o.hz);
    const plan = faultPlan(o.seed, pumps, startMs, o.scale, FAULT_DURATION_MS);
    sim.schedule(plan);
    const lastFaultEndMs = Math.max(...plan.map((f) => f.atMs + f.durationMs));
    const demo = new Demo(o, suite.host, suite.regions, suite.cloud, sim, suite.launcher, lastFaultEndMs);
    const report = await demo.run();
    mkdirSync(o.out, { recursive: true });
    const file = join(o.out, 'report.json');
    writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), startMs, ...report }, null, 2)}\n`);
    const picture = join(o.out, 'timeline.svg');
    writeFileSync(
      picture,
      demoTimelineSvg(
        { startMs, ...report },
        `Edge DR demo: ${o.pumps} pumps at ${o.hz} Hz, scale ${o.scale} (${new Date(startMs).toISOString().slice(0, 16)}Z)`,
      ),
    );
    printReport(report, startMs);
    console.log(
      `report: ${file}, timeline: ${picture}${o.keep ? `; logs: ${join(suite.root, 'logs')}` : ''}`,
    );
    if (report.lost > 0) {
      console.error(`${report.lost} records were lost`);
      exitCode = 1;
    }
  } finally {
    await suite.stop();
  }
  process.exit(exitCode);
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;

function printDetection(d: DetectionReport, startMs: number): void {
  console.log(`\ndetection (${d.rule})`);
  for (const f of d.faults)
    console.log(
      `  ${f.deviceId} ${f.kind.padEnd(10)} from ${seconds(f.fromMs - startMs).padStart(8)} to ${seconds(f.toMs - startMs).padStart(8)}  ${
        f.delayMs === null ? 'missed' : `detected after ${f.delayMs} ms`
      }`,
    );
  for (const a of d.falseAlarms)
    console.log(
      `  false alarm: ${a.asset} at ${seconds(a.atMs - startMs)} (${new Date(a.atMs).toISOString()})`,
    );
  console.log(
    `  faults detected ${d.detected} of ${d.injected}; false alarms ${d.falseAlarms.length} in ${d.assetHours.toFixed(2)} asset-hours = ${d.falseAlarmsPerAssetHour.toFixed(2)} per asset-hour`,
  );
}

function printMemory(trends: readonly MemoryTrend[]): void {
  console.log(
    '\nmemory (PSS, MB: first / peak / last; once the backlog was drained: from → to, trend, highest in each half)',
  );
  const mb = (v: number | null): string => (v === null ? '-' : v.toFixed(1));
  for (const t of trends)
    console.log(
      `  ${t.component.padEnd(10)} ${mb(t.firstMb)} / ${mb(t.peakMb)} / ${mb(t.lastMb)};  ${mb(t.steadyFromMb)} → ${mb(t.steadyToMb)}, ${t.steadyMbPerMin >= 0 ? '+' : ''}${t.steadyMbPerMin.toFixed(2)} MB/min over ${t.steadySamples} samples, ${mb(t.steadyFirstHalfMaxMb)} then ${mb(t.steadySecondHalfMaxMb)}`,
    );
}

function printReport(r: Awaited<ReturnType<Demo['run']>>, startMs: number): void {
  const rows: [string, unknown][] = [
    ['records produced', r.produced],
    ['stored by Ingest', r.stored],
    ['delivered (unique)', r.delivered],
    ['delivered per region', JSON.stringify(r.deliveredPerRegion)],
    ['duplicates (same ids)', r.duplicates],
    ['lost', r.lost],
    ['evicted, named by gap markers', r.evictedInGapMarkers],
    ['failover: SIGSTOP of A to first batch in B', `${String(r.failoverMs)} ms`],
    ['fail-back: A back to its first batch (incl. hold)', `${String(r.failbackMs)} ms`],
    ['peak backlog', r.peakBacklog],
    ['backlog at recovery, drained in', `${r.backlogAtRecovery} records, ${r.backlogDrainMs} ms`],
    ['drain rate after recovery', `${r.drainRecordsPerSec} records/s`],
    ['first live reading after recovery', `${String(r.firstLiveAfterRecoveryMs)} ms`],
    ['readings seen by Inference', r.inferenceReadings],
    ['windows Inference built / was done with', `${r.inferenceWindows.built} / ${r.inferenceWindows.done}`],
    ['faults injected / detected', `${r.detection.injected} / ${r.detection.detected}`],
    [
      'false alarms',
      `${r.detection.falseAlarms.length} (${r.detection.falseAlarmsPerAssetHour.toFixed(2)} per asset-hour)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\nreport');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${String(v)}`);
  printDetection(r.detection, startMs);
  printMemory(r.memory.trends);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
