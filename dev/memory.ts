import { readFileSync } from 'node:fs';

/** What smaps_rollup says of a process's memory, in bytes. */
export interface ProcessMemory {
  /** Proportional set size: its share of shared pages, so the sum over processes counts each page once. */
  readonly pssBytes: number;
  /** Resident set size: every page it maps that is in RAM, shared or not. */
  readonly rssBytes: number;
}

/** Parses the text of `/proc/<pid>/smaps_rollup` (kB figures); null without Pss and Rss lines. */
export function parseSmapsRollup(text: string): ProcessMemory | null {
  const kb = (field: string): number | undefined => {
    const v = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
    return v === undefined ? undefined : Number(v) * 1024;
  };
  const pss = kb('Pss');
  const rss = kb('Rss');
  return pss === undefined || rss === undefined ? null : { pssBytes: pss, rssBytes: rss };
}

/** PSS and RSS of a process from smaps_rollup; null when it is gone or not ours to read. */
export function processMemory(pid: number): ProcessMemory | null {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return null;
  }
}

/** Proportional set size of a process (its share of shared pages counted once), from smaps_rollup. */
export function pssBytes(pid: number): number | null {
  return processMemory(pid)?.pssBytes ?? null;
}

export interface MemorySample {
  readonly atMs: number;
  readonly phase: string;
  /** PSS in MB per component (null when its process could not be read). */
  readonly pssMb: Readonly<Record<string, number | null>>;
}

/** Least-squares slope of (x, y), per unit of x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface MemoryTrend {
  readonly component: string;
  readonly firstMb: number | null;
  readonly peakMb: number | null;
  readonly lastMb: number | null;
  /** Once the backlog was drained: the first and last samples and the fitted trend. */
  readonly steadyFromMb: number | null;
  readonly steadyToMb: number | null;
  readonly steadyMbPerMin: number;
  readonly steadySamples: number;
  /** The highest sample in each half of that period: a garbage-collected heap saws, a leak climbs. */
  readonly steadyFirstHalfMaxMb: number | null;
  readonly steadySecondHalfMaxMb: number | null;
}

/** Per component: where its PSS started, peaked and ended, and its trend over the samples from `steadyFromMs`. */
export function memoryTrends(samples: readonly MemorySample[], steadyFromMs: number): MemoryTrend[] {
  const components = [...new Set(samples.flatMap((s) => Object.keys(s.pssMb)))];
  return components.map((component) => {
    const values = samples
      .map((s) => [s.atMs, s.pssMb[component] ?? null] as const)
      .filter((p): p is readonly [number, number] => p[1] !== null);
    const steady = values.filter(([t]) => t >= steadyFromMs);
    const mid = steady.length === 0 ? 0 : (steady[0]![0] + steady.at(-1)![0]) / 2;
    const maxOf = (part: readonly (readonly [number, number])[]): number | null =>
      part.length === 0 ? null : Math.max(...part.map(([, v]) => v));
    return {
      component,
      firstMb: values[0]?.[1] ?? null,
      peakMb: values.length === 0 ? null : Math.max(...values.map(([, v]) => v)),
      lastMb: values.at(-1)?.[1] ?? null,
      steadyFromMb: steady[0]?.[1] ?? null,
      steadyToMb: steady.at(-1)?.[1] ?? null,
      steadyMbPerMin: slope(steady.map(([t, v]) => [t / 60_000, v])),
      steadySamples: steady.length,
      steadyFirstHalfMaxMb: maxOf(steady.filter(([t]) => t <= mid)),
      steadySecondHalfMaxMb: maxOf(steady.filter(([t]) => t > mid)),
    };
  });
}
