import {
  confusion,
  nabParts,
  nabScore,
  nabWeight,
  nabWindows,
  outlierScore,
  PROFILES,
  transitions,
} from '../../eval/metrics';

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

describe("SKAB's changepoint (NAB) score", () => {
  const W = 60_000;
  const standard = PROFILES.standard;

  it('takes the alarm transitions as predicted changepoints, the first point when the alarm starts on', () => {
    expect(transitions([0, 1, 2, 3, 4], [false, true, true, false, false])).toEqual([1, 3]);
    expect(transitions([0, 1, 2, 3], [true, true, false, false])).toEqual([0, 2]);
  });

  // Values by hand from A_fp + (A_tp − A_fp)(1 − tanh(x)/tanh(π/2))/2 with x = −π/2 + π·i/999 and
  // i = floor(1000·p), tanh(π/2) = 0.9171523357. Standard profile: (A_tp − A_fp)/2 = 0.555.
  it.each([
    // p = 0: i = 0, x = −π/2, tanh(x)/tanh(π/2) = −1: A_tp.
    [0, 1],
    // p = 1: i = 999 (the last grid point), x = π/2: A_fp.
    [60_000, -0.11],
    // p = 1/2: i = 500, x = π/1998 = 0.0015724, tanh/0.9171523 = 0.0017144: 0.555 · 0.9982856 − 0.11.
    [30_000, 0.4440485071],
    // p = 1/4: i = 250, x = −0.7846120, tanh = −0.6553459, /0.9171523 = −0.7145442: 0.555 · 1.7145442 − 0.11.
    [15_000, 0.841572041],
    // p = 10/60: i = 166, x = −1.0487699, tanh = −0.7813277, /0.9171523 = −0.8519061: 0.555 · 1.8519061 − 0.11.
    [10_000, 0.9178078849],
  ])('weights the first detection at %d ms in a 60 s window by the S-curve: %d', (atMs, expected) => {
    expect(nabWeight(atMs / W, standard)).toBeCloseTo(expected, 9);
    expect(nabParts([0], [atMs], W, standard).score).toBeCloseTo(expected, 9);
  });

  it('is symmetric about the middle of the window, where it is (A_tp + A_fp) / 2 up to the grid', () => {
    // i = 333 and i = 666 lie symmetric about 499.5: weights 0.7357504 and 0.1542496 add to A_tp + A_fp.
    expect(nabWeight(0.333, standard)).toBeCloseTo(0.7357503819, 9);
    expect(nabWeight(0.666, standard)).toBeCloseTo(0.1542496181, 9);
    expect(nabWeight(0.333, standard) + nabWeight(0.666, standard)).toBeCloseTo(0.89, 12);
    // Low FP: (A_tp − A_fp)/2 = 0.61; at i = 500, 0.61 · 0.9982856 − 0.22.
    expect(nabWeight(0.5, PROFILES.lowFp)).toBeCloseTo(0.388954215, 9);
  });

  it('starts a window that the previous one reaches into where that one ends', () => {
    expect(nabWindows([0, 30_000, 200_000], W)).toEqual([
      { startMs: 0, endMs: 60_000 },
      { startMs: 60_000, endMs: 90_000 },
      { startMs: 200_000, endMs: 260_000 },
    ]);
    // Touching windows are cut too (the end is included in a window).
    expect(nabWindows([0, 60_000], W)).toEqual([
      { startMs: 0, endMs: 60_000 },
      { startMs: 60_000, endMs: 120_000 },
    ]);
    // Detections at 10 s (p = 1/6, i = 166) and 70 s: the second window is [60 s, 90 s], p = 1/3, i = 333.
    const parts = nabParts([0, 30_000], [10_000, 70_000], W, standard);
    expect(parts.score).toBeCloseTo(0.9178078849 + 0.7357503819, 9);
    // One detection on the shared boundary counts in both windows: A_fp in the first, A_tp in the second.
    expect(nabParts([0, 30_000], [60_000], W, standard).score).toBeCloseTo(-0.11 + 1, 12);
  });

  it('counts only the first detection in a window, charges detections outside windows and missed windows', () => {
    // Window [0, 60 s]: detections at 0 and 30 s (the first counts); 100 s is outside; [200 s, 260 s] missed;
    // 300 s is after the last window, −5 s before the first.
    const parts = nabParts([0, 200_000], [-5_000, 0, 30_000, 100_000, 300_000], W, standard);
    expect(parts.score).toBeCloseTo(1 - 3 * 0.11 - 1, 12);
    expect(parts).toMatchObject({ nullScore: -2, perfectScore: 2 });
    expect(nabScore([parts])).toBeCloseTo((100 * (1 - 0.33 - 1 - -2)) / (2 - -2), 10);
    // A file without changepoints: every detection is a false positive.
    const none = nabParts([], [1_000, 2_000], W, standard);
    expect(none.score).toBeCloseTo(-0.22, 12);
    expect(none.perfectScore).toBe(0);
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
