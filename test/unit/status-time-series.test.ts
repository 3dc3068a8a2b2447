import { RateMeter, SeriesWindow } from '../../components/status/src/core/time-series';

describe('the status page series window', () => {
  it('keeps one mean per bucket, or a sum, aligned on the bucket grid', () => {
    const w = new SeriesWindow(10_000, 6);
    w.record('depth', 100_000, 10);
    w.record('depth', 105_000, 20);
    w.record('depth', 112_000, 5);
    w.record('onsets', 101_000, 1, 'sum');
    w.record('onsets', 102_000, 1, 'sum');
    expect(w.points()).toEqual({
      bucketMs: 10_000,
      fromMs: 60_000,
      series: {
        depth: [null, null, null, null, 15, 5],
        onsets: [0, 0, 0, 0, 2, 0],
      },
    });
  });

  it.each([
    ['within the window', 150_000, [10, null, null, null, null, 7]],
    ['past the window: everything older is cleared', 500_000, [null, null, null, null, null, 7]],
  ])('moves forward %s', (_name, later, expected) => {
    const w = new SeriesWindow(10_000, 6);
    w.record('x', 100_000, 10);
    w.record('x', later, 7);
    expect(w.points().series['x']).toEqual(expected);
  });

  it('ignores values older than the window, non-finite values and series beyond its limit', () => {
    const w = new SeriesWindow(1_000, 4, 2);
    w.record('a', 10_000, 1);
    w.record('a', 5_000, 99); // older than the window
    w.record('a', 10_000, Number.NaN);
    w.record('b', 10_000, 2);
    w.record('c', 10_000, 3); // a third series
    expect(w.points()).toEqual({
      bucketMs: 1_000,
      fromMs: 7_000,
      series: { a: [null, null, null, 1], b: [null, null, null, 2] },
    });
  });

  it('advances to the present, so a silent series shows a gap rather than its old values', () => {
    const w = new SeriesWindow(1_000, 3);
    w.record('a', 1_000, 4);
    w.advanceTo(3_500);
    expect(w.points().series['a']).toEqual([4, null, null]);
    w.advanceTo(10_000);
    expect(w.points().series['a']).toEqual([null, null, null]);
  });

  it('lists only the newer buckets for a live update', () => {
    const w = new SeriesWindow(1_000, 10);
    for (let t = 0; t < 10_000; t += 1_000) w.record('a', t, t / 1_000);
    expect(w.points(7_500)).toEqual({ bucketMs: 1_000, fromMs: 7_000, series: { a: [7, 8, 9] } });
  });

  it('refuses a window without buckets', () => {
    expect(() => new SeriesWindow(0, 10)).toThrow(RangeError);
    expect(() => new SeriesWindow(1_000, 0)).toThrow(RangeError);
  });
});

describe('the rate meter', () => {
  it.each([
    {
      name: 'a steady counter',
      readings: [
        [0, 0],
        [1_000, 100],
        [2_000, 200],
        [3_000, 300],
      ],
      at: 3_000,
      rate: 100,
    },
    {
      // 100, then 50 counted from zero, then 100: 250 in 3 s.
      name: 'a counter that restarts from zero (a component restarted)',
      readings: [
        [0, 1_000],
        [1_000, 1_100],
        [2_000, 50],
        [3_000, 150],
      ],
      at: 3_000,
      rate: 250 / 3,
    },
    {
      name: 'only readings within the window count',
      readings: [
        [0, 0],
        [10_000, 10_000],
        [20_000, 10_000],
        [30_000, 10_500],
      ],
      at: 30_000,
      rate: 25,
    },
  ])('gives per-second rates: $name', ({ readings, at, rate }) => {
    const meter = new RateMeter(20_000);
    for (const [t, v] of readings) meter.observe(v ?? 0, t ?? 0);
    expect(meter.rate(at)).toBeCloseTo(rate, 6);
  });

  it('returns the rate since the previous reading, and null without two readings or when they are old', () => {
    const meter = new RateMeter(5_000);
    expect(meter.observe(10, 0)).toBeNull();
    expect(meter.rate(0)).toBeNull();
    expect(meter.observe(30, 2_000)).toBe(10);
    expect(meter.rate(2_000)).toBe(10);
    expect(meter.rate(60_000)).toBeNull();
  });
});
