import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

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

const PAGE_BYTES = 4096;

/** Address ranges of a process that have resident pages, from its smaps. */
function residentRanges(pid: number): [number, number][] {
  const ranges: [number, number][] = [];
  let current: [number, number] | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) current = [parseInt(range[1]!, 16), parseInt(range[2]!, 16)];
    else if (current !== undefined && /^Rss:\s+[1-9]/.test(line)) ranges.push(current);
  }
  return ranges;
}

/**
 * The RAM a set of processes holds between them: every physical page resident in any of them, counted
 * once (from /proc/<pid>/pagemap). This is what their PSS would add up to if nothing else on the machine
 * mapped the same pages; on a shared machine other processes (other node processes above all) take a
 * share of node's own code, and PSS alone understates what the set costs a gateway where it runs alone.
 * Null when the page frame numbers cannot be read (they read as zero without CAP_SYS_ADMIN).
 */
export function distinctResidentBytes(pids: readonly number[]): number | null {
  const frames = new Set<number>();
  let present = 0;
  for (const pid of pids) {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/pagemap`, 'r');
    } catch {
      continue; // gone
    }
    try {
      for (const [start, end] of residentRanges(pid)) {
        const pages = (end - start) / PAGE_BYTES;
        const entries = Buffer.alloc(pages * 8);
        const read = readSync(fd, entries, 0, entries.length, (start / PAGE_BYTES) * 8);
        for (let off = 0; off + 8 <= read; off += 8) {
          const hi = entries.readUInt32LE(off + 4);
          if ((hi & 0x80000000) === 0) continue; // not present
          present += 1;
          frames.add((hi & 0x7fffff) * 2 ** 32 + entries.readUInt32LE(off));
        }
      }
    } catch {
      // the process went away while being read
    } finally {
      closeSync(fd);
    }
  }
  if (present > 0 && frames.size === 1 && frames.has(0)) return null;
  return frames.size * PAGE_BYTES;
}
