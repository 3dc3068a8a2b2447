import {
  observeAlarmed,
  noAdaptation,
  type AdaptationPolicy,
} from '../../components/inference/src/core/adaptation';
import {
  collect,
  collected,
  screenCalibration,
  startCollection,
  type CalibrationWindow,
} from '../../components/inference/src/core/calibration';
import {
  inAlarm,
  judge,
  quietEpisode,
  type EpisodeChange,
} from '../../components/inference/src/core/episodes';
import { pushVerdict, quietPersistence } from '../../components/inference/src/core/persistence';
import {
  emptyWindow,
  pushReading,
  windowsOf,
  type WindowPolicy,
  type WindowState,
} from '../../components/inference/src/core/windows';
import { seededRandom } from '../../dev/pump-simulator';

const POLICY: WindowPolicy = {
  size: 3,
  step: 1,
  maxGapMs: 5_000,
  detrended: [],
  trendTimeConstantMs: 60_000,
};

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

describe('windows by the readings own timestamps', () => {
  it.each([
    ['a window per reading once full', [0, 1_000, 2_000, 3_000], ['filling', 'filling', 'window', 'window']],
    [
      'a duplicate or late reading is skipped, not a restart',
      [0, 1_000, 1_000, 500, 2_000],
      ['filling', 'filling', 'skipped', 'skipped', 'window'],
    ],
    [
      'a gap beyond maxGapMs starts afresh',
      [0, 1_000, 2_000, 9_000, 10_000, 11_000],
      ['filling', 'filling', 'window', 'restarted', 'filling', 'window'],
    ],
    ['a gap of exactly maxGapMs does not', [0, 5_000, 10_000], ['filling', 'filling', 'window']],
  ])('%s', (_name, times, outcomes) => {
    let state = emptyWindow;
    const seen = times.map((t) => {
      const pushed = pushReading(state, POLICY, t, [t / 1_000]);
      state = pushed.state;
      return pushed.outcome;
    });
    expect(seen).toEqual(outcomes);
  });

  it('builds a window every `step` readings, with its bounds', () => {
    const readings = [0, 1, 2, 3, 4, 5].map((i) => ({ tsMs: i * 1_000, values: [i] }));
    const w = windowsOf(readings, { ...POLICY, step: 2 });
    expect(w.map((x) => [x.index, x.window.fromMs, x.window.toMs])).toEqual([
      [2, 0, 2_000],
      [4, 2_000, 4_000],
    ]);
    expect(w[0]!.window.features).toEqual([1, 1]); // mean 1, std 1 of [0, 1, 2]
  });

  it('feeds a detrended channel as its deviation from a trailing mean weighted by time', () => {
    const policy: WindowPolicy = { ...POLICY, size: 2, detrended: [0], maxGapMs: 60_000 };
    // Two minutes at 10 (past the warm-up), then a step to 11: the trailing mean moves by
    // 1 - exp(-dt / tau) per reading.
    let state = emptyWindow;
    const out: number[] = [];
    const steady = Array.from({ length: 13 }, (_, i) => [i * 10_000, 10] as const);
    for (const [t, v] of [...steady, [130_000, 11], [140_000, 11]] as const) {
      state = pushReading(state, policy, t, [v, v]).state;
      out.push(state.rows.at(-1)![0]!);
    }
    const w = 1 - Math.exp(-10_000 / 60_000);
    expect(out[0]).toBe(0);
    expect(out[12]).toBeCloseTo(0, 12);
    expect(out[13]).toBeCloseTo(1, 12); // the full step, against the mean before it
    expect(out[14]).toBeCloseTo(1 - w, 12);
    expect(state.rows.at(-1)![1]).toBe(11); // the other channel is fed as it is
  });

  it("starts a trailing mean as the plain mean of the readings so far, not the first reading's noise", () => {
    const policy: WindowPolicy = { ...POLICY, size: 2, detrended: [0], maxGapMs: 60_000 };
    // The first reading 3 off, then steady at 10, one a second (tau 60 s).
    const deviations = (from: WindowState): number[] => {
      let state = from;
      return Array.from({ length: 11 }, (_, i) => {
        state = pushReading(state, policy, 100_000 + i * 1_000, [i === 0 ? 13 : 10]).state;
        return state.rows.at(-1)![0]!;
      });
    };
    const fresh = deviations(emptyWindow);
    // After ten readings the mean is 10 + 3/10: a deviation of -0.3, where a mean seeded with the first
    // reading would still be 3 e^(-10/60) = 2.5 off.
    expect(fresh[10]).toBeCloseTo(-0.3, 12);
    // The same after a gap that restarts the window: the warm-up starts again.
    const before = pushReading(emptyWindow, policy, 0, [50]).state;
    expect(deviations(before)[10]).toBeCloseTo(-0.3, 12);
  });

  it('detrends the same slow drift alike at 1 Hz and at 10 Hz', () => {
    const policy: WindowPolicy = { ...POLICY, detrended: [0], maxGapMs: 60_000 };
    const deviationAt = (periodMs: number, atMs: number): number => {
      const readings = Array.from({ length: atMs / periodMs + 1 }, (_, i) => ({
        tsMs: i * periodMs,
        values: [70 + (2 * i * periodMs) / 600_000],
      }));
      return windowsOf(readings, policy).at(-1)!.window.features[0]!;
    };
    // 2 °C in 10 minutes: after 5 minutes the deviation is about drift rate x tau, at either rate.
    expect(deviationAt(1_000, 300_000)).toBeCloseTo(deviationAt(100, 300_000), 1);
    expect(deviationAt(1_000, 300_000)).toBeCloseTo((2 / 600) * 60 * (1 - Math.exp(-5)), 1);
  });
});

describe('persistence filter', () => {
  it('raises one onset after k of n windows above and one recovery after k of n below', () => {
    const policy = { k: 3, n: 5 };
    const scores = [0.2, 2, 0.3, 2, 2, 3, 2.5, 0.1, 2, 0.2, 0.1, 0.3, 0.2];
    let state = quietPersistence;
    const transitions = scores.map((s) => {
      const pushed = pushVerdict(state, policy, s > 1);
      state = pushed.state;
      return pushed.transition;
    });
    expect(transitions.indexOf('onset')).toBe(4);
    expect(transitions.filter((t) => t === 'onset')).toHaveLength(1);
    expect(transitions.indexOf('recovery')).toBe(10);
    expect(transitions.filter((t) => t === 'recovery')).toHaveLength(1);
  });
});

describe('the off-delay', () => {
  /** Scores one per second through the episodes; the changes, and whether the asset was in alarm, per window. */
  function episodes(
    scores: readonly number[],
    offDelayMs: number,
  ): { changes: string[]; alarmed: boolean[] } {
    const policy = {
      persistence: { k: 3, n: 5 },
      offDelayMs,
      adaptation: { afterMs: 0, blocks: 5, tolerance: 1 },
    };
    let state = quietEpisode;
    const changes: string[] = [];
    const alarmed: boolean[] = [];
    scores.forEach((score, i) => {
      const judged = judge(state, policy, undefined, { raw: [0], toMs: i * 1_000 }, score, 1);
      state = judged.state;
      const c: EpisodeChange | null = judged.change;
      if (c !== null)
        changes.push(
          c.kind === 'recovery'
            ? `recovery at ${i}s, below since ${c.belowSinceMs / 1_000}s`
            : `${c.kind} at ${i}s`,
        );
      alarmed.push(inAlarm(state));
    });
    return { changes, alarmed };
  }
  // An alarm, a few seconds below, above again (a state hovering at the threshold as a fault ends), then quiet.
  const chatter = [2, 2, 2, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

  it('ends an alarm with the persistence filter when it is 0', () => {
    expect(episodes(chatter, 0).changes).toEqual([
      'onset at 2s',
      'recovery at 5s, below since 5s',
      'onset at 8s',
      'recovery at 11s, below since 11s',
    ]);
  });

  it('continues the alarm through a crossing within it, and ends it once the windows stayed below for that long', () => {
    const { changes, alarmed } = episodes(chatter, 5_000);
    expect(changes).toEqual(['onset at 2s', 'recovery at 16s, below since 11s']);
    expect(alarmed.indexOf(true)).toBe(2);
    expect(alarmed.lastIndexOf(true)).toBe(15);
    // A crossing after the off-delay is a new alarm.
    expect(episodes([...chatter, 2, 2, 2], 5_000).changes.at(-1)).toBe('onset at 24s');
  });
});

describe('a new normal after a stable alarm', () => {
  const policy: AdaptationPolicy = { afterMs: 50_000, blocks: 5, tolerance: 1 };
  const scale = { mean: [0, 10], std: [1, 2] };

  function feed(values: (t: number) => number[], untilMs: number, stepMs = 1_000) {
    let state = noAdaptation;
    for (let t = 0; t <= untilMs; t += stepMs) {
      const observed = observeAlarmed(state, policy, scale, values(t), t);
      state = observed.state;
      if (observed.adapted !== null) return { atMs: t, adapted: observed.adapted };
    }
    return null;
  }

  it('accepts a state that stayed within tolerance for afterMs, with the offset from the model centre', () => {
    const r = seededRandom(3);
    const result = feed(() => [5 + 0.1 * gaussian(r), 16 + 0.2 * gaussian(r)], 120_000);
    expect(result).not.toBeNull();
    // Five complete 10 s slots: the sixth slot's first window completes the fifth.
    expect(result!.atMs).toBe(50_000);
    expect(result!.adapted.offset[0]).toBeCloseTo(5, 1);
    expect(Math.abs(result!.adapted.offset[1]! - 6)).toBeLessThan(0.2);
    expect(result!.adapted.moved[0]).toMatchObject({ feature: 0 });
    expect(result!.adapted.moved[0]!.sigmas).toBeCloseTo(5, 1);
  });

  it('waits while the state still moves, and adapts once it has been still for afterMs', () => {
    // A ramp for 60 s (2 σ per slot), then still: no five slots in a row agree before 100 s.
    const result = feed((t) => [Math.min(t, 60_000) / 5_000, 10], 200_000);
    expect(result!.atMs).toBe(100_000);
    expect(Math.abs(result!.adapted.offset[0]! - 12)).toBeLessThanOrEqual(1);
  });

  it('starts again after a gap longer than a slot, and never adapts when turned off or without a scale', () => {
    const gapped = feed((t) => [t < 30_000 || t > 55_000 ? 5 : 5], 60_000, 25_000);
    expect(gapped).toBeNull();
    expect(observeAlarmed(noAdaptation, { ...policy, afterMs: 0 }, scale, [5, 5], 0).adapted).toBeNull();
    expect(observeAlarmed(noAdaptation, policy, undefined, [5, 5], 0).state).toBe(noAdaptation);
  });
});

describe('the calibration screen', () => {
  const policy = { blocks: 6, maxShift: 10, minRelativeStd: 0.01, features: [0, 1] };

  function windows(n: number, seed: number, shiftAt?: number): CalibrationWindow[] {
    const r = seededRandom(seed);
    return Array.from({ length: n }, (_, i) => ({
      asset: 'pump-1',
      // Flow around 32 with a slow drift of half a spread; a valve closing at `shiftAt` takes 5 off.
      features: [
        32 + 0.5 * gaussian(r) + (0.25 * i) / n - (shiftAt !== undefined && i >= shiftAt ? 5 : 0),
        1 + 0.05 * gaussian(r),
        0.3,
      ],
      toMs: i * 1_000,
    }));
  }

  it('accepts normal operation with a slow drift', () => {
    expect(screenCalibration(windows(300, 1), policy)).toBeNull();
  });

  it('refuses windows with a sustained shift inside, naming the asset, the feature and the times', () => {
    const refusal = screenCalibration(windows(300, 2, 200), policy);
    expect(refusal).toMatchObject({ asset: 'pump-1', feature: 0 });
    expect(refusal!.shift).toBeGreaterThan(10);
    expect(refusal!.fromMs).toBeLessThan(200_000);
    expect(refusal!.toMs).toBeGreaterThanOrEqual(200_000);
  });

  it('judges each asset of a pooled calibration on its own, and leaves too few windows alone', () => {
    const other = windows(300, 3).map((w) => ({
      ...w,
      asset: 'pump-2',
      features: w.features.map((v) => v * 3),
    }));
    expect(screenCalibration([...windows(300, 1), ...other], policy)).toBeNull();
    expect(screenCalibration(windows(40, 2, 20), policy)).toBeNull();
  });
});

describe('a calibration spans the readings own time', () => {
  const offer = (policy: { windows: number; spanMs: number }, periodMs: number, count: number) => {
    let c = startCollection('pump-1', 'test', 0);
    let doneAt: number | null = null;
    for (let i = 0; i < count && doneAt === null; i++) {
      c = collect(c, { asset: 'pump-1', features: [i], toMs: i * periodMs }, policy);
      if (collected(c, policy)) doneAt = i * periodMs;
    }
    return { c, doneAt };
  };

  it.each([
    ['1 Hz', 1_000],
    ['10 Hz', 100],
  ])(
    'at %s: at least `windows` windows over at least spanMs, at most twice as many held, evenly spread',
    (_rate, periodMs) => {
      const { c, doneAt } = offer({ windows: 50, spanMs: 600_000 }, periodMs, 100_000);
      expect(doneAt).toBeGreaterThanOrEqual(600_000);
      expect(doneAt).toBeLessThan(600_000 + 2 * c.stride * periodMs);
      expect(c.windows.length).toBeGreaterThanOrEqual(50);
      expect(c.windows.length).toBeLessThanOrEqual(100);
      const gaps = c.windows.slice(1).map((w, i) => w.toMs - c.windows[i]!.toMs);
      expect(new Set(gaps).size).toBe(1);
    },
  );

  it('completes at `windows` windows when no span is asked for, and takes no more after', () => {
    const { c, doneAt } = offer({ windows: 30, spanMs: 0 }, 1_000, 100);
    expect(doneAt).toBe(29_000);
    expect(collect(c, { asset: 'pump-1', features: [0], toMs: 99_000 }, { windows: 30, spanMs: 0 })).toBe(c);
  });
});
