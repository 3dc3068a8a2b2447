import { inferenceConfigSchema } from '../../components/inference/src/config';
import {
  firstCalibration,
  initialState,
  step,
  type CoreInput,
  type Effect,
  type InferenceState,
  type LiveRecord,
} from '../../components/inference/src/core/inference';
import type { ModelInfo } from '../../components/inference/src/core/model-info';
import { corePolicy } from '../../components/inference/src/policy';

const config = inferenceConfigSchema.parse({
  measurements: ['flow', 'pressure'],
  detrend: { measurements: [] },
  window: { size: 2, step: 1, maxGapMs: 10_000 },
  persistence: { k: 2, n: 3 },
  adaptation: { afterMs: 0 },
  calibration: { windows: 60, spanMs: 30_000, perAsset: true, screen: { maxShift: 10, blocks: 6 } },
  maxBatch: 4,
  flushMs: 50,
  maxAssets: 2,
});
const policy = corePolicy(config);
const INFO: ModelInfo = {
  modelId: 'm',
  version: '1',
  features: policy.features,
  threshold: 1,
  origin: 'test',
  createdAtMs: 0,
};

const reading = (deviceId: string, tsMs: number, flow = 32, pressure = 0.2): LiveRecord => ({
  stream: 'telemetry',
  lane: 'telemetry',
  deviceId,
  tsMs,
  body: { flow, pressure },
});

/** Runs inputs through the core; returns the last state and every effect, in order. */
function run(
  state: InferenceState,
  inputs: readonly CoreInput[],
): { state: InferenceState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const input of inputs) {
    const next = step(state, policy, input, 1_000);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const kinds = (effects: readonly Effect[]): string[] => effects.map((e) => e.kind);

describe('the Inference core', () => {
  const withModel = initialState(new Map([[null, INFO]]));

  it('turns readings into windows, asks for a flush, and scores them in calls of maxBatch per model', () => {
    const records = [0, 1, 2, 3, 4, 5].map((i) => reading('pump-1', i * 1_000));
    const { state, effects } = run(withModel, [{ kind: 'records', records }]);
    expect(state.pending).toHaveLength(5);
    expect(effects).toEqual([{ kind: 'schedule-flush', delayMs: 0 }]); // 5 >= maxBatch
    const flushed = run(state, [{ kind: 'flush' }]);
    expect(flushed.state.pending).toEqual([]);
    expect(kinds(flushed.effects)).toEqual(['score', 'score']);
    const calls = flushed.effects as Extract<Effect, { kind: 'score' }>[];
    expect(calls.map((c) => c.windows.length)).toEqual([4, 1]);
    expect(calls[0]!.windows[0]).toMatchObject({
      asset: 'pump-1',
      fromMs: 0,
      toMs: 1_000,
      features: [32, 0.2, 0, 0],
    });
  });

  it('counts the windows it builds, so a reader can tell when each has been scored, failed or left unscored', () => {
    const records = [0, 1, 2, 3, 4, 5].map((i) => reading('pump-1', i * 1_000));
    const built = run(withModel, [{ kind: 'records', records }]).state;
    expect(built.counters).toMatchObject({ readings: 6, windows: 5, windowsScored: 0 });
    const flushed = run(built, [{ kind: 'flush' }]);
    const [first, second] = flushed.effects as Extract<Effect, { kind: 'score' }>[];
    const done = run(flushed.state, [
      {
        kind: 'scored',
        info: INFO,
        windows: first!.windows,
        score: first!.windows.map(() => 0),
        contributions: first!.windows.flatMap(() => [0, 0, 0, 0]),
      },
      { kind: 'score-failed', windows: second!.windows.length },
    ]).state.counters;
    expect(done).toMatchObject({ windows: 5, windowsScored: 4, failedWindows: 1 });

    const noModel = run(initialState(new Map()), [
      { kind: 'records', records: records.slice(0, 3) },
      { kind: 'flush' },
    ]).state.counters;
    expect(noModel).toMatchObject({ windows: 2, unscoredWindows: 2 });
  });

  it.each([
    ['incomplete readings', [{ ...reading('p', 0), body: { flow: 1 } }], { incompleteReadings: 1 }],
    [
      'other lanes and non-numeric times',
      [
        { ...reading('p', 0), lane: 'alert' },
        { ...reading('p', 0), tsMs: 'x' },
      ],
      { readings: 0 },
    ],
    [
      'late and duplicate readings',
      [reading('p', 2_000), reading('p', 2_000), reading('p', 1_000)],
      { readings: 3, skippedReadings: 2 },
    ],
    ['a gap that restarts the window', [reading('p', 0), reading('p', 20_000)], { windowRestarts: 1 }],
    [
      'assets beyond maxAssets',
      [reading('a', 0), reading('b', 0), reading('c', 0)],
      { ignoredAssetReadings: 1 },
    ],
  ])('counts %s', (_name, records, counters) => {
    const { state } = run(withModel, [{ kind: 'records', records }]);
    expect(state.counters).toMatchObject(counters);
  });

  it('raises one onset after k of n scores above the threshold, with its window, model and top contributors', () => {
    let { state } = run(withModel, [
      { kind: 'records', records: [0, 1, 2, 3].map((i) => reading('pump-1', i * 1_000)) },
    ]);
    const windows = state.pending;
    state = run(state, [{ kind: 'flush' }]).state;
    const scored = run(state, [
      {
        kind: 'scored',
        info: INFO,
        windows,
        score: [0.5, 3, 4],
        contributions: [0, 0, 0, 0, 1, 2, 0, 0, 0.5, 3, 0.5, 0],
      },
    ]);
    const publish = scored.effects.filter((e) => e.kind === 'publish');
    expect(publish).toHaveLength(1);
    expect(publish[0]).toMatchObject({
      event: {
        type: 'anomaly',
        state: 'onset',
        asset: 'pump-1',
        atMs: 3_000,
        score: 4,
        threshold: 1,
        model: { id: 'm', version: '1' },
        window: { fromMs: 2_000, toMs: 3_000 },
        contributors: [
          { feature: 'pressure.mean', share: 0.75 },
          { feature: 'flow.mean', share: 0.125 },
          { feature: 'flow.std', share: 0.125 },
        ],
      },
    });
    expect(scored.state.counters).toMatchObject({ onsets: 1, windowsScored: 3, inferenceCalls: 1 });
  });

  it('holds alarms back during the first calibration, screens it, and asks the shell to fit it', () => {
    let state = firstCalibration(initialState(new Map([[null, INFO]])), policy, 1_000).state;
    // Per asset: the first reading of an asset starts its own collection.
    const normal = Array.from({ length: 61 }, (_, i) => reading('pump-1', i * 1_000, 32 + 0.1 * Math.sin(i)));
    const { state: after, effects } = run(state, [{ kind: 'records', records: normal }]);
    state = after;
    const fit = effects.find((e) => e.kind === 'fit');
    expect(fit).toMatchObject({ kind: 'fit', key: 'pump-1', assets: 1 });
    expect((fit as Extract<Effect, { kind: 'fit' }>).windows).toHaveLength(60);
    expect(state.quiet.has('pump-1')).toBe(true);
    // Scores while quiet raise nothing; once the model is in use they do.
    const windows = state.pending;
    const quiet = run(state, [
      {
        kind: 'scored',
        info: INFO,
        windows,
        score: windows.map(() => 9),
        contributions: windows.flatMap(() => [1, 1, 1, 1]),
      },
    ]);
    expect(quiet.effects.filter((e) => e.kind === 'publish')).toEqual([]);
    const swapped = run(quiet.state, [
      { kind: 'model', key: 'pump-1', info: { ...INFO, modelId: 'calibrated' }, calibrated: true },
    ]);
    expect(swapped.state.quiet.size).toBe(0);
    expect(swapped.state.counters.calibrations).toBe(1);
  });

  it('refuses a calibration with a sustained shift inside, says so, and collects again', () => {
    const state = run(withModel, [{ kind: 'recalibrate', asset: 'pump-1', reason: 'command c-1' }]).state;
    const records = Array.from({ length: 61 }, (_, i) =>
      reading('pump-1', i * 1_000, i < 30 ? 32 + 0.1 * Math.sin(i) : 24 + 0.1 * Math.sin(i)),
    );
    const { state: after, effects } = run(state, [{ kind: 'records', records }]);
    expect(kinds(effects)).not.toContain('fit');
    const refused = effects.find((e) => e.kind === 'publish');
    expect(refused).toMatchObject({
      event: { type: 'calibration', state: 'refused', asset: 'pump-1', feature: 'flow.mean', attempt: 1 },
    });
    expect(effects.find((e) => e.kind === 'log' && e.level === 'warn')).toBeDefined();
    expect(after.counters.refusedCalibrations).toBe(1);
    expect(after.collections.get('pump-1')).toMatchObject({ attempt: 2, windows: [] });
  });

  it('starts the next attempt with the window after the refused one, wherever the batch boundaries fall', () => {
    const state = run(withModel, [{ kind: 'recalibrate', asset: 'pump-1', reason: 'command c-1' }]).state;
    // A step inside the first 60 windows, then normal operation: the second attempt is complete on the
    // 120th window whether the readings come one by one, in uneven batches or all at once.
    const records = Array.from({ length: 121 }, (_, i) =>
      reading('pump-1', i * 1_000, i >= 30 && i < 60 ? 24 + 0.1 * Math.sin(i) : 32 + 0.1 * Math.sin(i)),
    );
    const batched = (size: number): CoreInput[] =>
      Array.from({ length: Math.ceil(records.length / size) }, (_, b) => ({
        kind: 'records' as const,
        records: records.slice(b * size, (b + 1) * size),
      }));
    for (const size of [1, 7, 50, records.length]) {
      const { state: after, effects } = run(state, batched(size));
      const outcomes = effects.flatMap((e) =>
        e.kind === 'fit'
          ? [`fit ${e.windows.length}`]
          : e.kind === 'publish'
            ? [String(e.event['state'])]
            : [],
      );
      expect({ size, outcomes }).toEqual({ size, outcomes: ['refused', 'fit 60'] });
      expect(after.collections.has('pump-1')).toBe(false);
    }
  });
});
