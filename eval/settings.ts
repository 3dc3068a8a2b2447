import { inferenceConfigSchema, type InferenceConfig } from '../components/inference/src/config';
import type { SkabGroup } from './skab-data';

/** SKAB's leaderboard pools valve1, valve2 and other: 34 files. */
export const LEADERBOARD_FILES = 34;
/** Unlabelled recordings are cut to the length of a valve1 run, so the protocol is the same. */
export const RUN_ROWS = 1_100;

export interface ChoiceRule {
  readonly setting: string;
  readonly value: string;
  readonly rule: string;
}

export const CHOICE_RULES: readonly ChoiceRule[] = [];

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

/** The component's own defaults (what a gateway runs), with overrides for experiments. */
export function skabConfig(overrides: object = {}): InferenceConfig {
  const defaults = inferenceConfigSchema.parse({});
  return inferenceConfigSchema.parse(merge(defaults, overrides));
}

export async function choose(_groups: readonly SkabGroup[], _config: InferenceConfig): Promise<void> {
  await Promise.resolve();
}
