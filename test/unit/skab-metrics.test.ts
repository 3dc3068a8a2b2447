import { confusion, nabParts, nabScore, outlierScore, PROFILES, transitions } from '../../eval/metrics';

describe('SKAB outlier metrics', () => {
  it('counts a hand case and derives F1, FAR and MAR from it', () => {
    const truth = [false, false, true, true, true, false, false, true];
    const alarm = [false, true, true, true, false, false, false, false];
    const c = confusion(truth, alarm);
    expect(c).toEqual({ tp: 2, fp: 1, fn: 2, tn: 3 });
    const s = outlierScore(c);
    expect(s.f1).toBeCloseTo(2 / (2 + 3 / 2), 12); // 0.5714
    expect(s.far).toBeCloseTo(25, 12); // 1 / (1 + 3)
    expect(s.mar).toBeCloseTo(50, 12); // 2 / (2 + 2)
  });

  it('gives an always-on alarm F1 = 2p / (1 + p) and FAR 100 %', () => {
    const truth = [true, true, true, false];
    const s = outlierScore(confusion(truth, [true, true, true, true]));
    expect(s.f1).toBeCloseTo((0.75 * 2) / 1.75, 12);
    expect(s.far).toBe(100);
    expect(s.mar).toBe(0);
  });
});

describe('SKAB changepoint (NAB-style) score', () => {
  const W = 60_000;
  it('finds transitions of the alarm', () => {
    expect(transitions([0, 1, 2, 3, 4], [false, true, true, false, false])).toEqual([1, 3]);
  });

  it('scores a detection at the window start as a full true positive, at its end as a false positive', () => {
    const p = PROFILES.standard;
    expect(nabParts([0], [0], W, p).score).toBeCloseTo(1, 12);
    expect(nabParts([0], [W], W, p).score).toBeCloseTo(-0.11, 12);
    // Half way: tp + (fp - tp) * tanh(2.5) / tanh(5).
    expect(nabParts([0], [W / 2], W, p).score).toBeCloseTo(1 + (-1.11 * Math.tanh(2.5)) / Math.tanh(5), 12);
  });

  it('counts only the first detection in a window, charges detections outside windows and missed windows', () => {
    const p = PROFILES.standard;
    // Window [0, 60 s]: two detections (first counts); one false positive at 100 s; window [200 s, 260 s] missed.
    const parts = nabParts([0, 200_000], [0, 30_000, 100_000], W, p);
    expect(parts.score).toBeCloseTo(1 - 0.11 - 1, 12);
    expect(parts).toMatchObject({ nullScore: -2, perfectScore: 2 });
    expect(nabScore([parts])).toBeCloseTo((100 * (-0.11 - -2)) / (2 - -2), 10);
  });

  it('normalises pooled files: perfect is 100, no detections is 0', () => {
    const p = PROFILES.lowFn;
    const perfect = [nabParts([0, 100_000], [0, 100_000], W, p), nabParts([5_000], [5_000], W, p)];
    expect(nabScore(perfect)).toBeCloseTo(100, 10);
    expect(nabScore([nabParts([0], [], W, p)])).toBe(0);
    // Low-FP doubles the cost of a stray detection.
    expect(nabParts([0], [0, 500_000], W, PROFILES.lowFp).score).toBeCloseTo(1 - 0.22, 12);
  });
});
