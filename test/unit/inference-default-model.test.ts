/**
 * @jest-environment ./test/support/native-typed-arrays-environment.js
 */
import { readFileSync } from 'node:fs';
import {
  defaultModelPath,
  readModelFile,
  sidecarOf,
} from '../../components/inference/src/adapters/model-files';
import { OnnxAnomalyModel } from '../../components/inference/src/adapters/onnx-model';
import { inferenceConfigSchema } from '../../components/inference/src/config';
import { pushVerdict, quietPersistence } from '../../components/inference/src/core/persistence';
import { windowsOf } from '../../components/inference/src/core/windows';
import { corePolicy } from '../../components/inference/src/policy';
import { PumpSimulator, type FaultKind } from '../../dev/pump-simulator';
import { makeDefaultModel } from '../../scripts/make-default-model';

const CONFIG = inferenceConfigSchema.parse({});
const POLICY = corePolicy(CONFIG);
const FEATURES = POLICY.features;

/** Windows as the component builds them by default, from a simulated pump (another seed than the model's). */
function windows(seed: number, normal: number, fault?: { kind: FaultKind; seconds: number }): number[][] {
  const sim = new PumpSimulator(seed, ['p'], 0);
  const readings: { tsMs: number; values: number[] }[] = [];
  const read = (): void => {
    const r = sim.next()[0]!;
    readings.push({ tsMs: r.tsMs, values: CONFIG.measurements.map((m) => r.measurements[m]!) });
  };
  for (let i = 0; i < normal; i++) read();
  if (fault !== undefined) {
    sim.injectFault('p', fault.kind, fault.seconds * 1_000);
    for (let i = 0; i < fault.seconds; i++) read();
  }
  return windowsOf(readings, POLICY.window).map((w) => w.window.features);
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
    expect(readFileSync(sidecarOf(path), 'utf8')).toBe(`${JSON.stringify(info, null, 2)}\n`);
    expect(readModelFile(path).info).toEqual(info);
  });

  it('scores simulated normal operation below the threshold: no alarm', async () => {
    const normal = windows(99, 1_200);
    const { score } = await model.score(normal);
    const above = Array.from(score).filter((s) => s > 1).length;
    expect(above / normal.length).toBeLessThan(0.01);
    let p = quietPersistence;
    const onsets = Array.from(score).filter((s) => {
      const pushed = pushVerdict(p, CONFIG.persistence, s > 1);
      p = pushed.state;
      return pushed.transition === 'onset';
    });
    expect(onsets).toEqual([]);
  });

  it.each<FaultKind>(['valve', 'bearing', 'cavitation'])(
    'scores an injected %s fault above the threshold',
    async (kind) => {
      const w = windows(99, 200, { kind, seconds: 60 });
      const { score } = await model.score(w);
      const faulty = Array.from(score).slice(-40); // once the fault has developed
      expect(faulty.filter((s) => s > 1).length / faulty.length).toBeGreaterThan(0.8);
    },
  );
});
