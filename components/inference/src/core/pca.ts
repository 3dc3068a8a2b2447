import { chiSquareQuantile, columnMeans, covariance, normalQuantile, symmetricEigen } from './linalg';
import { TensorType, writeModel, type Node } from './onnx-writer';

/**
 * The anomaly detector: PCA on standardised feature vectors with Hotelling's T² (distance inside the
 * model's subspace) and Q / SPE (distance from it). Each statistic is divided by its control limit at
 * confidence `alpha`, so a score above 1 means "outside what calibration saw".
 */
export interface PcaModel {
  readonly features: readonly string[];
  readonly mean: readonly number[];
  /** 1 / standard deviation, per feature. */
  readonly invStd: readonly number[];
  /** F × k loadings (columns are principal directions). */
  readonly loadings: readonly (readonly number[])[];
  readonly eigenvalues: readonly number[];
  readonly t2Limit: number;
  readonly qLimit: number;
  readonly alpha: number;
  readonly explainedVariance: number;
  readonly samples: number;
}

export interface FitOptions {
  /** Keep the fewest components that explain at least this share of the variance. */
  readonly explainedVariance: number;
  /** Confidence of the control limits. */
  readonly alpha: number;
  /**
   * A feature's standard deviation is at least this share of its typical magnitude: a sensor that was
   * constant during calibration (a fixed flow set point) still gets a finite, meaningful scale.
   */
  readonly minRelativeStd: number;
}

export const DEFAULT_FIT: FitOptions = { explainedVariance: 0.9, alpha: 0.995, minRelativeStd: 0.01 };

export function fitPca(
  features: readonly string[],
  rows: readonly (readonly number[])[],
  options: FitOptions = DEFAULT_FIT,
): PcaModel {
  const f = features.length;
  if (rows.length < f + 2)
    throw new RangeError(
      `calibration needs more than ${f + 1} samples for ${f} features, got ${rows.length}`,
    );
  const mean = columnMeans(rows);
  const std = new Array<number>(f).fill(0);
  for (const r of rows) for (let j = 0; j < f; j++) std[j]! += (r[j]! - mean[j]!) ** 2;
  const invStd = std.map((s, j) => {
    const sd = Math.sqrt(s / (rows.length - 1));
    const floor = options.minRelativeStd * Math.max(Math.abs(mean[j]!), 1e-6);
    return 1 / Math.max(sd, floor);
  });
  const z = rows.map((r) => r.map((v, j) => (v - mean[j]!) * invStd[j]!));
  const { values, vectors } = symmetricEigen(covariance(z));
  const eig = values.map((v) => Math.max(v, 1e-12));
  const total = eig.reduce((a, b) => a + b, 0);
  let k = 0;
  let explained = 0;
  while (k < f - 1 && explained < options.explainedVariance) explained += eig[k++]! / total;
  const loadings = vectors.map((row) => row.slice(0, k));

  // T²: chi-square with k degrees of freedom. Q: Jackson and Mudholkar, from the residual eigenvalues.
  const t2Limit = chiSquareQuantile(options.alpha, k);
  const residual = eig.slice(k);
  const theta = [1, 2, 3].map((p) => residual.reduce((a, l) => a + l ** p, 0));
  const [t1, t2, t3] = theta as [number, number, number];
  const h0 = 1 - (2 * t1 * t3) / (3 * t2 * t2);
  const c = normalQuantile(options.alpha);
  const qLimit =
    t1 * ((c * Math.sqrt(2 * t2 * h0 * h0)) / t1 + 1 + (t2 * h0 * (h0 - 1)) / (t1 * t1)) ** (1 / h0);
  return {
    features,
    mean,
    invStd,
    loadings,
    eigenvalues: eig.slice(0, k),
    t2Limit,
    qLimit: Number.isFinite(qLimit) && qLimit > 0 ? qLimit : t1,
    alpha: options.alpha,
    explainedVariance: explained,
    samples: rows.length,
  };
}

export interface Score {
  /** max(T² / T²-limit, Q / Q-limit). */
  readonly score: number;
  /** Per feature: its share of T² / limit plus its share of Q / limit; they sum to T²/lim + Q/lim. */
  readonly contributions: number[];
}

/** Matrices the ONNX graph and the reference share: A = P Λ⁻¹ Pᵀ / T²lim, C = I − P Pᵀ. */
function operators(m: PcaModel): { a: number[][]; c: number[][] } {
  const f = m.features.length;
  const k = m.eigenvalues.length;
  const a: number[][] = [];
  const c: number[][] = [];
  for (let i = 0; i < f; i++) {
    a.push([]);
    c.push([]);
    for (let j = 0; j < f; j++) {
      let sa = 0;
      let sc = 0;
      for (let p = 0; p < k; p++) {
        const prod = m.loadings[i]![p]! * m.loadings[j]![p]!;
        sa += prod / m.eigenvalues[p]!;
        sc += prod;
      }
      a[i]!.push(sa / m.t2Limit);
      c[i]!.push((i === j ? 1 : 0) - sc);
    }
  }
  return { a, c };
}

/** The TypeScript reference of what the exported ONNX model computes. */
export function scorePca(m: PcaModel, x: readonly number[]): Score {
  const f = m.features.length;
  const z = x.map((v, j) => (v - m.mean[j]!) * m.invStd[j]!);
  const { a, c } = operators(m);
  let t2 = 0;
  let q = 0;
  const contributions: number[] = [];
  for (let j = 0; j < f; j++) {
    let za = 0;
    let r = 0;
    for (let i = 0; i < f; i++) {
      za += z[i]! * a[i]![j]!;
      r += z[i]! * c[i]![j]!;
    }
    const t2c = z[j]! * za;
    const qc = (r * r) / m.qLimit;
    t2 += t2c;
    q += qc;
    contributions.push(t2c + qc);
  }
  return { score: Math.max(t2, q), contributions };
}

/** The model contract every Inference model satisfies (checked when a model is loaded). */
export const MODEL_CONTRACT = {
  input: 'features',
  outputs: ['score', 'contributions'],
} as const;

export interface ModelIdentity {
  readonly modelId: string;
  readonly version: string;
  readonly createdAtMs: number;
  readonly origin: string;
}

/**
 * Exports the detector as an ONNX graph: features [N, F] → score [N] and contributions [N, F], with the
 * identity, feature names and limits in the model's metadata.
 */
export function pcaToOnnx(m: PcaModel, id: ModelIdentity): Buffer {
  const f = m.features.length;
  const { a, c } = operators(m);
  const flat = (rows: number[][]): number[] => rows.flat();
  const nodes: Node[] = [
    { op: 'Sub', inputs: ['features', 'mean'], outputs: ['centred'] },
    { op: 'Mul', inputs: ['centred', 'inv_std'], outputs: ['z'] },
    { op: 'MatMul', inputs: ['z', 'A'], outputs: ['za'] },
    { op: 'Mul', inputs: ['z', 'za'], outputs: ['t2_parts'] },
    { op: 'MatMul', inputs: ['z', 'C'], outputs: ['residual'] },
    { op: 'Mul', inputs: ['residual', 'residual'], outputs: ['residual_sq'] },
    { op: 'Mul', inputs: ['residual_sq', 'inv_q_limit'], outputs: ['q_parts'] },
    { op: 'Add', inputs: ['t2_parts', 'q_parts'], outputs: ['contributions'] },
    {
      op: 'ReduceSum',
      inputs: ['t2_parts', 'axis1'],
      outputs: ['t2'],
      attributes: [{ name: 'keepdims', int: 0 }],
    },
    {
      op: 'ReduceSum',
      inputs: ['q_parts', 'axis1'],
      outputs: ['q'],
      attributes: [{ name: 'keepdims', int: 0 }],
    },
    { op: 'Max', inputs: ['t2', 'q'], outputs: ['score'] },
  ];
  return writeModel({
    graphName: 'pca_t2_q',
    opset: 17,
    producer: 'edgedr-inference',
    producerVersion: id.version,
    doc: 'PCA anomaly detector: max(T2 / T2 limit, Q / Q limit) per feature vector',
    inputs: [{ name: MODEL_CONTRACT.input, type: TensorType.FLOAT, shape: ['N', f] }],
    outputs: [
      { name: 'score', type: TensorType.FLOAT, shape: ['N'] },
      { name: 'contributions', type: TensorType.FLOAT, shape: ['N', f] },
    ],
    initializers: [
      { name: 'mean', type: TensorType.FLOAT, dims: [f], values: [...m.mean] },
      { name: 'inv_std', type: TensorType.FLOAT, dims: [f], values: [...m.invStd] },
      { name: 'A', type: TensorType.FLOAT, dims: [f, f], values: flat(a) },
      { name: 'C', type: TensorType.FLOAT, dims: [f, f], values: flat(c) },
      { name: 'inv_q_limit', type: TensorType.FLOAT, dims: [1], values: [1 / m.qLimit] },
      { name: 'axis1', type: TensorType.INT64, dims: [1], values: [1] },
    ],
    nodes,
    metadata: {
      modelId: id.modelId,
      version: id.version,
      createdAtMs: String(id.createdAtMs),
      origin: id.origin,
      detector: 'pca-t2-q',
      features: JSON.stringify(m.features),
      threshold: '1',
      t2Limit: String(m.t2Limit),
      qLimit: String(m.qLimit),
      components: String(m.eigenvalues.length),
      alpha: String(m.alpha),
      calibrationSamples: String(m.samples),
    },
  });
}
