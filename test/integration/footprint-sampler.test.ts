import { spawn, type ChildProcess } from 'node:child_process';
import { footprintSummary, sampleComponents, type FootprintSample } from '../../bench/footprint';
import { parseSmapsRollup, processMemory } from '../../dev/memory';

const ROLLUP = `55d0c0a4e000-7ffd2b9f1000 ---p 00000000 00:00 0                          [rollup]
Rss:               40516 kB
Pss:               14388 kB
Pss_Dirty:          6340 kB
Pss_Anon:           6340 kB
Pss_File:           8048 kB
Shared_Clean:      26104 kB
`;

describe('smaps_rollup', () => {
  it('gives PSS and RSS in bytes', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ pssBytes: 14388 * 1024, rssBytes: 40516 * 1024 });
  });

  it('is null without the fields (not a rollup)', () => {
    expect(parseSmapsRollup('Size: 4 kB\n')).toBeNull();
  });

  it('is null for a process that is not there', () => {
    expect(processMemory(2 ** 22 + 1)).toBeNull();
  });
});

describe('the footprint sampler on a real process', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    const c = child;
    child = undefined;
    if (c?.pid === undefined || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    process.kill(-c.pid, 'SIGTERM');
    await gone;
  });

  it('finds the node process in a component’s process group and reads its PSS and RSS', async () => {
    // As the launcher starts a component: a shell in a process group of its own, running node.
    child = spawn('/bin/sh', ['-c', 'node -e "setInterval(() => {}, 1000)"; exit 0'], {
      detached: true,
      stdio: 'ignore',
    });
    const group = child.pid!;
    let sample: FootprintSample | undefined;
    for (let i = 0; i < 100 && (sample?.pssMb['Buffer'] ?? null) === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      sample = sampleComponents((name) => (name === 'com.edgedr.Buffer' ? group : undefined), Date.now());
    }
    // Node is still starting when first found: read it again once its memory has settled, so the
    // three readings of one sample (smaps_rollup, then smaps and pagemap) see the same pages.
    await new Promise((r) => setTimeout(r, 1_500));
    sample = sampleComponents((name) => (name === 'com.edgedr.Buffer' ? group : undefined), Date.now());
    const pss = sample?.pssMb['Buffer'] ?? null;
    const rss = sample?.rssMb['Buffer'] ?? null;
    // A bare node process maps tens of MB; its share of them is a few MB at least.
    expect(pss).toBeGreaterThan(1);
    expect(rss).toBeGreaterThanOrEqual(pss!);
    expect(sample?.pssMb['Ingest']).toBeNull();
    expect(Object.keys(sample?.pssMb ?? {})).toEqual(['Buffer', 'Ingest', 'Inference', 'Replay']);
    // Its pages counted once: at least its PSS, at most its RSS (null where frames cannot be read).
    if (sample?.distinctMb !== null) {
      expect(sample?.distinctMb).toBeGreaterThanOrEqual(pss! - 0.2);
      expect(sample?.distinctMb).toBeLessThanOrEqual(rss! + 0.2);
    }
  });
});

describe('footprint summary', () => {
  const T0 = 1_800_000_000_000;
  const run = (mb: (minute: number) => number): FootprintSample[] =>
    Array.from({ length: 121 }, (_, i) => {
      const minute = (i * 5) / 60;
      const v = mb(minute);
      return {
        atMs: T0 + i * 5_000,
        pssMb: { Buffer: v, Ingest: 10, Inference: null, Replay: 10 },
        rssMb: { Buffer: v * 2, Ingest: 30, Inference: null, Replay: 30 },
        distinctMb: null,
      };
    });

  it('a heap that saws but does not climb has no trend after the warm-up', () => {
    const s = footprintSummary(
      run((m) => (m < 1 ? 20 + m * 10 : 30 + ((m * 12) % 2))),
      T0,
      60_000,
    );
    expect(Math.abs(s.suitePssMbPerMin)).toBeLessThan(0.2);
    // Buffer saws between 30 and 31 MB from one sample to the next; Ingest and Replay add 10 each.
    expect(s.suitePssMbMax).toBe(51);
  });

  it('a leak shows as its rate, and in the first and last minutes', () => {
    const s = footprintSummary(
      run((m) => 20 + 2 * m),
      T0,
      60_000,
    );
    expect(s.suitePssMbPerMin).toBeCloseTo(2, 1);
    expect(s.suitePssMbFirstMinute).toBeCloseTo(41, 0);
    expect(s.suitePssMbLastMinute).toBeCloseTo(59, 0);
    expect(s.components.find((c) => c.component === 'Buffer')?.steadyMbPerMin).toBeCloseTo(2, 1);
  });
});
