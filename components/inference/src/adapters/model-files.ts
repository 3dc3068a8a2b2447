import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { DrError } from '../../../../shared/src/errors';
import type { ModelInfo } from '../core/model-info';

/**
 * A model on disk: `<name>.onnx` and its sidecar `<name>.json` (identity, feature names, threshold and
 * limits), the pair a model component ships as artifacts and calibration saves in the work directory.
 */
export interface ModelFile {
  readonly path: string;
  readonly onnx: Buffer;
  readonly info: ModelInfo;
}

const infoSchema = z.object({
  modelId: z.string().min(1),
  version: z.string().min(1),
  features: z.array(z.string().min(1)).min(1),
  threshold: z.number().positive(),
  origin: z.string().min(1),
  createdAtMs: z.number().int().nonnegative(),
  limits: z.record(z.string(), z.number()).optional(),
  standardization: z.object({ mean: z.array(z.number()), std: z.array(z.number().positive()) }).optional(),
  preprocessing: z
    .object({ windowSize: z.number().int().positive(), trendTimeConstantMs: z.number().positive() })
    .optional(),
});

export const sidecarOf = (onnxPath: string): string => onnxPath.replace(/\.onnx$/, '') + '.json';

export function readModelFile(onnxPath: string): ModelFile {
  let onnx: Buffer;
  let raw: unknown;
  try {
    onnx = readFileSync(onnxPath);
    raw = JSON.parse(readFileSync(sidecarOf(onnxPath), 'utf8'));
  } catch (err) {
    throw new DrError(
      'MODEL_INVALID',
      `model ${onnxPath} or its sidecar ${sidecarOf(onnxPath)} cannot be read`,
      {
        cause: err,
      },
    );
  }
  const parsed = infoSchema.safeParse(raw);
  if (!parsed.success)
    throw new DrError(
      'MODEL_INVALID',
      `model sidecar ${sidecarOf(onnxPath)}: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
    );
  const { limits, standardization, preprocessing, ...info } = parsed.data;
  const f = info.features.length;
  if (
    standardization !== undefined &&
    (standardization.mean.length !== f || standardization.std.length !== f)
  )
    throw new DrError(
      'MODEL_INVALID',
      `model sidecar ${sidecarOf(onnxPath)}: standardization does not have ${f} features`,
    );
  return {
    path: onnxPath,
    onnx,
    info: {
      ...info,
      ...(limits === undefined ? {} : { limits }),
      ...(standardization === undefined ? {} : { standardization }),
      ...(preprocessing === undefined ? {} : { preprocessing }),
    },
  };
}

/** Writes the pair atomically (temporary files renamed into place, the sidecar last). */
export function writeModelFile(onnxPath: string, onnx: Uint8Array, info: ModelInfo): void {
  mkdirSync(dirname(onnxPath), { recursive: true });
  const side = sidecarOf(onnxPath);
  writeFileSync(`${onnxPath}.tmp`, onnx);
  writeFileSync(`${side}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(`${onnxPath}.tmp`, onnxPath);
  renameSync(`${side}.tmp`, side);
}

/** The model shipped with the component: beside the bundle in an artifact, or in the source tree. */
export function defaultModelPath(here: string = __dirname): string {
  const candidates = [join(here, 'models', 'default.onnx'), join(here, '..', 'models', 'default.onnx')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined)
    throw new DrError('MODEL_INVALID', `no default model at ${candidates.join(' or ')}`);
  return found;
}

const ALL_ASSETS = 'all';

/** Where calibration keeps a model: one for all assets, or one per asset. */
export function calibratedModelPath(workDir: string, asset: string | null): string {
  const name = asset === null ? ALL_ASSETS : `asset-${Buffer.from(asset).toString('base64url')}`;
  return join(workDir, 'models', `calibrated-${name}.onnx`);
}

/** Calibrated models saved earlier: asset (null for all) to path. */
export function savedCalibrations(workDir: string): Map<string | null, string> {
  const dir = join(workDir, 'models');
  const out = new Map<string | null, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    const m = /^calibrated-(.+)\.onnx$/.exec(basename(f));
    if (m === null) continue;
    const key = m[1]!;
    const asset =
      key === ALL_ASSETS
        ? null
        : key.startsWith('asset-')
          ? Buffer.from(key.slice(6), 'base64url').toString()
          : undefined;
    if (asset !== undefined) out.set(asset, join(dir, f));
  }
  return out;
}
