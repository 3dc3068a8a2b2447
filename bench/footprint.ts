/**
 * `npm run bench -- footprint [--minutes=10] [--pumps=20] [--hz=10] [--sample-s=5]`
 *
 * The four components' memory at the demo's default load (20 pumps at 10 Hz), with both regions up and
 * nothing failing: the suite started as `npm start` starts it (dev/suite.ts, the demo's configuration),
 * the readings published on the sensors' local topics, and each component's node process read from
 * `/proc/<pid>/smaps_rollup` every few seconds. PSS splits each shared page (node's own code, the
 * native modules) between the processes that map it, so the four's sum is their share of the machine;
 * RSS counts shared pages in every process. The first minute is warm-up (model load, JIT, the store's
 * caches filling); the trend is fitted over the rest. The four's pages counted once between them
 * ("once", from pagemap, as root) are what their PSS adds up to on a gateway where no other process
 * shares node's code; with other node processes about (the benchmark's own, anyone else's) PSS alone is
 * lower. Target (issue 18): the four together ≤ 150 MB PSS, with no growth trend.
 */
import { DEMO_HZ, DEMO_PUMPS, demoOverrides, pumpIds, startPumpLoad } from '../dev/demo-load';
import { distinctResidentBytes, memoryTrends, processMemory, slope, type MemorySample } from '../dev/memory';
import { nodePidInGroup } from '../dev/proc';
import { PumpSimulator } from '../dev/pump-simulator';
import { startLocalSuite, SUITE_COMPONENTS } from '../dev/suite';
import { BENCH_THING, option, writeChart } from './common';

export const FOOTPRINT_TARGET_PSS_MB = 150;
const WARMUP_MS = 60_000;
const PRINT_EVERY_MS = 30_000;

export interface FootprintSample {
  readonly atMs: number;
  /** Per component (short name), null when its process could not be read. */
  readonly pssMb: Readonly<Record<string, number | null>>;
  readonly rssMb: Readonly<Record<string, number | null>>;
  /**
   * The four's resident pages counted once between them: their PSS sum on a gateway where nothing else
   * maps node's code (here other node processes take a share of it). Null without pagemap's frames.
   */
  readonly distinctMb: number | null;
}

const short = (name: string): string => name.replace('com.edgedr.', '');
const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
const sum = (values: Readonly<Record<string, number | null>>): number =>
  Math.round(Object.values(values).reduce<number>((a, v) => a + (v ?? 0), 0) * 10) / 10;
const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : Math.round((values.reduce((a, v) => a + v, 0) / values.length) * 10) / 10;

/** Each suite component's PSS and RSS now, by the node process in its process group. */
export function sampleComponents(pidOf: (name: string) => number | undefined, atMs: number): FootprintSample {
  const pssMb: Record<string, number | null> = {};
  const rssMb: Record<string, number | null> = {};
  const pids: number[] = [];
  for (const name of SUITE_COMPONENTS) {
    const group = pidOf(name);
    const pid = group === undefined ? undefined : nodePidInGroup(group);
    const m = pid === undefined ? null : processMemory(pid);
    if (pid !== undefined) pids.push(pid);
    pssMb[short(name)] = m === null ? null : mb(m.pssBytes);
    rssMb[short(name)] = m === null ? null : mb(m.rssBytes);
  }
  const distinct = pids.length === 0 ? null : distinctResidentBytes(pids);
  return { atMs, pssMb, rssMb, distinctMb: distinct === null ? null : mb(distinct) };
}

/** The summary figures of a run's samples (times relative to `startMs`). */
export function footprintSummary(samples: readonly FootprintSample[], startMs: number, warmupMs: number) {
  const endMs = samples.at(-1)?.atMs ?? startMs;
  const suite = samples.map((s) => [s.atMs, sum(s.pssMb)] as const);
  const steady = suite.filter(([t]) => t - startMs >= warmupMs);
  const distinct = samples
    .map((s) => [s.atMs, s.distinctMb] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null);
  const memory: MemorySample[] = samples.map((s) => ({ atMs: s.atMs, phase: 'live', pssMb: s.pssMb }));
  return {
    suitePssMbMax: suite.length === 0 ? null : Math.max(...suite.map(([, v]) => v)),
    suitePssMbFirstMinute: mean(suite.filter(([t]) => t - startMs < 60_000).map(([, v]) => v)),
    suitePssMbLastMinute: mean(suite.filter(([t]) => endMs - t < 60_000).map(([, v]) => v)),
    suiteRssMbMax: samples.length === 0 ? null : Math.max(...samples.map((s) => sum(s.rssMb))),
    suiteDistinctMbMax: distinct.length === 0 ? null : Math.max(...distinct.map(([, v]) => v)),
    suiteDistinctMbLastMinute: mean(distinct.filter(([t]) => endMs - t < 60_000).map(([, v]) => v)),
    /** Least-squares trend of the suite's PSS after the warm-up. */
    suitePssMbPerMin: Math.round(slope(steady.map(([t, v]) => [t / 60_000, v])) * 100) / 100,
    steadyFromS: warmupMs / 1_000,
    components: memoryTrends(memory, startMs + warmupMs),
  };
}

export async function footprintBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const minutes = option(args, 'minutes', 10);
  const pumps = option(args, 'pumps', DEMO_PUMPS);
  const hz = option(args, 'hz', DEMO_HZ);
  const sampleMs = option(args, 'sample-s', 5) * 1_000;
  const durationMs = minutes * 60_000;
  // A short run still gets a steady part to fit: the warm-up is at most half of it.
  const warmupMs = Math.min(WARMUP_MS, durationMs / 2);
  console.log(
    `footprint: ${pumps} pumps at ${hz} Hz for ${minutes} min, memory every ${sampleMs / 1_000} s (PSS/RSS MB)`,
  );
  const suite = await startLocalSuite({ thing: BENCH_THING, keep: false, overrides: () => demoOverrides(1) });
  const samples: FootprintSample[] = [];
  const startMs = Date.now();
  const sim = new PumpSimulator(42, pumpIds(pumps), startMs, 1_000 / hz);
  let produced = 0;
  const load = startPumpLoad(suite.host, sim, hz, () => {
    produced += 1;
  });
  const names = SUITE_COMPONENTS.map(short);
  console.log(
    `  ${'time'.padStart(6)}  ${names.map((n) => n.padStart(15)).join(' ')}  ${'suite PSS'.padStart(9)}  ${'once'.padStart(6)}  ${'produced'.padStart(9)}  delivered`,
  );
  let printedAt = -Infinity;
  try {
    while (Date.now() - startMs < durationMs) {
      const s = sampleComponents((name) => suite.launcher.pid(name), Date.now());
      samples.push(s);
      if (s.atMs - printedAt >= PRINT_EVERY_MS - sampleMs / 2 || s.atMs - startMs + sampleMs >= durationMs) {
        printedAt = s.atMs;
        const delivered = [suite.cloud.a, suite.cloud.b].reduce(
          (n, c) => n + c.batches.reduce((a, b) => a + b.records.length, 0),
          0,
        );
        const cell = (n: string): string =>
          `${(s.pssMb[n] ?? NaN).toFixed(1)}/${(s.rssMb[n] ?? NaN).toFixed(1)}`.padStart(15);
        console.log(
          `  ${`${Math.round((s.atMs - startMs) / 1_000)} s`.padStart(6)}  ${names.map(cell).join(' ')}  ${sum(s.pssMb).toFixed(1).padStart(9)}  ${(s.distinctMb ?? NaN).toFixed(1).padStart(6)}  ${String(produced).padStart(9)}  ${delivered}`,
        );
      }
      await new Promise((r) => setTimeout(r, sampleMs));
    }
  } finally {
    load.stop();
    await suite.stop();
  }
  const summary = footprintSummary(samples, startMs, warmupMs);
  console.log(
    `\nsuite PSS: max ${String(summary.suitePssMbMax)} MB, first minute ${String(summary.suitePssMbFirstMinute)} MB, last minute ${String(summary.suitePssMbLastMinute)} MB, trend ${summary.suitePssMbPerMin} MB/min after ${summary.steadyFromS} s (target ≤ ${FOOTPRINT_TARGET_PSS_MB} MB, no growth)`,
  );
  console.log(
    `suite's pages counted once among the four (their PSS on a gateway running nothing else): max ${String(summary.suiteDistinctMbMax)} MB, last minute ${String(summary.suiteDistinctMbLastMinute)} MB`,
  );
  for (const c of summary.components)
    console.log(
      `  ${c.component.padEnd(10)} first ${String(c.firstMb)} peak ${String(c.peakMb)} last ${String(c.lastMb)} MB, trend ${c.steadyMbPerMin.toFixed(2)} MB/min`,
    );
  const rel = (t: number): number => Math.round((t - startMs) / 100) / 10;
  writeChart('footprint', {
    title: `Footprint: the four components' PSS at ${pumps} pumps × ${hz} Hz (${minutes} min)`,
    xLabel: 'seconds since the load started',
    panels: [
      {
        yLabel: 'PSS (MB)',
        limit: { y: FOOTPRINT_TARGET_PSS_MB, label: `target: suite ≤ ${FOOTPRINT_TARGET_PSS_MB} MB` },
        series: [
          { name: 'suite (sum)', points: samples.map((s) => [rel(s.atMs), sum(s.pssMb)] as const) },
          {
            name: 'suite, alone',
            points: samples
              .filter((s) => s.distinctMb !== null)
              .map((s) => [rel(s.atMs), s.distinctMb ?? 0] as const),
          },
          ...names.map((n) => ({
            name: n,
            points: samples
              .filter((s) => s.pssMb[n] !== null)
              .map((s) => [rel(s.atMs), s.pssMb[n] ?? 0] as const),
          })),
        ],
      },
    ],
  });
  return {
    settings: { minutes, pumps, hz, sampleEveryMs: sampleMs, warmupMs },
    targetSuitePssMb: FOOTPRINT_TARGET_PSS_MB,
    ...summary,
    produced,
    series: Object.fromEntries(
      names.map((n) => [
        n,
        samples.map((s) => ({ tS: rel(s.atMs), pssMb: s.pssMb[n] ?? null, rssMb: s.rssMb[n] ?? null })),
      ]),
    ),
  };
}
