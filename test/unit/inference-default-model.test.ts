/**
 * @jest-environment ./test/support/native-typed-arrays-environment.js
 */
import { readFileSync } from 'node:fs';
import { defaultModelPath, readModelFile } from '../../components/inference/src/adapters/model-files';
import { OnnxAnomalyModel } from '../../components/inference/src/adapters/onnx-model';
import { PersistenceFilter } from '../../components/inference/src/core/alarm';
import { DEFAULT_MEASUREMENTS } from '../../components/inference/src/config';
import { featureNames, slidingWindowFeatures } from '../../components/inference/src/core/features';
import { PumpSimulator, type FaultKind } from '../../dev/pump-simulator';
import { makeDefaultModel } from '../../scripts/make-default-model';

const FEATURES = featureNames(DEFAULT_MEASUREMENTS);

/** Windows of 5 readings, step 1, from a simulated pump (another seed than the model's). */
function windows(seed: number, normal: number, fault?: { kind: FaultKind; ticks: number }): number[][] {
  const sim = new PumpSimulator(seed, ['p'], 0);
  const rows: number[][] = [];
  const read = (): number[] => {
    const r = sim.next()[0]!;
    return DEFAULT_MEASUREMENTS.map((m) => r.measurements[m]!);
  };
  for (let i = 0; i < normal; i++) rows.push(read());
  if (fault !== undefined) {
    sim.injectFault('p', fault.kind, fault.ticks);
    for (let i = 0; i < fault.ticks; i++) rows.push(read());
  }
  return slidingWindowFeatures(rows, 5);
}

describe('the shipped model', () => {
  let model: OnnxAnomalyModel;
  beforeAll(async () => {
    const file = readModelFile(defaultModelPath(`${__dirname}/../../components/inference/src`));
    model = await OnnxAnomalyModel.load(file.onnx, file.info, FEATURES);
  });
  afterAll(() => model.release());

  it('is what the committed, seeded script produces, byte for byte', () => {
    const { onnx, info } = makeDefaultModel();
    const path = defaultModelPath(`${__dirname}/../../components/inference/src`);
    expect(onnx.equals(readFileSync(path))).toBe(true);
    expect(readModelFile(path).info).toEqual(info);
  });

  it('scores simulated normal operation below the threshold: no alarm', async () => {
    const normal = windows(99, 1_200);
    const { score } = await model.score(normal);
    const above = Array.from(score).filter((s) => s > 1).length;
    expect(above / normal.length).toBeLessThan(0.01);
    const filter = new PersistenceFilter({ k: 5, n: 9, threshold: 1 });
    expect(Array.from(score).some((s) => filter.push(s) === 'onset')).toBe(false);
  });

  it.each<FaultKind>(['valve', 'bearing', 'cavitation'])(
    'scores an injected %s fault above the threshold',
    async (kind) => {
      const w = windows(99, 200, { kind, ticks: 60 });
      const { score } = await model.score(w);
      const faulty = Array.from(score).slice(-40); // once the fault has developed
      expect(faulty.filter((s) => s > 1).length / faulty.length).toBeGreaterThan(0.8);
    },
  );
});
