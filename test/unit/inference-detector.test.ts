/**
 * @jest-environment ./test/support/native-typed-arrays-environment.js
 */
import { OnnxAnomalyModel } from '../../components/inference/src/adapters/onnx-model';
import {
  chiSquareQuantile,
  normalQuantile,
  symmetricEigen,
} from '../../components/inference/src/core/linalg';
import { DEFAULT_FIT, fitPca, pcaToOnnx, scorePca } from '../../components/inference/src/core/pca';
import { seededRandom } from '../../dev/pump-simulator';
import { thrownBy } from '../support/thrown';

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
/** Correlated "normal" samples around a working point, seeded. */
function normalSamples(n: number, seed: number): number[][] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const load = gaussian(r);
    return [
      230 + 2 * gaussian(r),
      1.3 + 0.05 * load + 0.01 * gaussian(r),
      0.2 + 0.03 * load + 0.005 * gaussian(r),
      32 + 0.5 * gaussian(r),
    ];
  });
}
const FEATURES = ['voltage', 'current', 'pressure', 'flow'];

describe('linear algebra and limits', () => {
  it('decomposes a symmetric matrix: A v = λ v, eigenvalues descending', () => {
    const a = [
      [4, 1, 0.5],
      [1, 3, 0.2],
      [0.5, 0.2, 1],
    ];
    const { values, vectors } = symmetricEigen(a);
    expect(values[0]).toBeGreaterThan(values[1]!);
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 3; i++) {
        const av = a[i]!.reduce((s, aij, j) => s + aij * vectors[j]![k]!, 0);
        expect(av).toBeCloseTo(values[k]! * vectors[i]![k]!, 10);
      }
  });

  it('has the normal and chi-square quantiles of the tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(chiSquareQuantile(0.99, 3)).toBeCloseTo(11.345, 1);
    expect(chiSquareQuantile(0.95, 10)).toBeCloseTo(18.307, 1);
  });
});

describe('PCA detector', () => {
  const model = fitPca(FEATURES, normalSamples(1_000, 1), DEFAULT_FIT);
  const info = {
    modelId: 'test',
    version: '1',
    features: FEATURES,
    threshold: 1,
    origin: 'test',
    createdAtMs: 0,
  };

  it('scores normal data below the threshold and faults above it', () => {
    const fresh = normalSamples(500, 2).map((x) => scorePca(model, x).score);
    const above = fresh.filter((s) => s > 1).length / fresh.length;
    expect(above).toBeLessThan(0.03); // limits at 99.5 % confidence
    // A pressure drop at the same current breaks the correlation; a voltage sag moves a level.
    const broken = scorePca(model, [230, 1.3, 0.1, 32]);
    expect(broken.score).toBeGreaterThan(5);
    expect(broken.contributions.indexOf(Math.max(...broken.contributions))).toBe(2);
    expect(scorePca(model, [215, 1.3, 0.2, 32]).score).toBeGreaterThan(2);
  });

  it('exports an ONNX model whose scores and contributions match the reference within 1e-4', async () => {
    const onnx = await OnnxAnomalyModel.load(pcaToOnnx(model, info), info, FEATURES);
    try {
      const batch = [...normalSamples(64, 3), [230, 1.3, 0.1, 32], [215, 1.5, 0.3, 20]];
      const out = await onnx.score(batch);
      batch.forEach((x, i) => {
        const ref = scorePca(model, x);
        expect(Math.abs(out.score[i]! - ref.score)).toBeLessThanOrEqual(1e-4 * Math.max(1, ref.score));
        ref.contributions.forEach((c, j) =>
          expect(Math.abs(out.contributions[i * FEATURES.length + j]! - c)).toBeLessThanOrEqual(
            1e-4 * Math.max(1, Math.abs(c)),
          ),
        );
      });
    } finally {
      await onnx.release();
    }
  });

  it('refuses a model that does not fit the contract', async () => {
    const bytes = pcaToOnnx(model, info);
    await expect(OnnxAnomalyModel.load(bytes, info, [...FEATURES, 'extra'])).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
    await expect(OnnxAnomalyModel.load(Buffer.from('not a model'), info, FEATURES)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
    const three = fitPca(
      FEATURES.slice(0, 3),
      normalSamples(100, 4).map((r) => r.slice(0, 3)),
    );
    const err = await OnnxAnomalyModel.load(pcaToOnnx(three, info), info, FEATURES).catch((e: unknown) => e);
    expect(String((err as Error).message)).toContain('does not take 4 features');
    expect(thrownBy(() => fitPca(FEATURES, normalSamples(5, 5)))).toBeInstanceOf(RangeError);
  });
});
