import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { JsonTree } from './config-tree';

/**
 * Lifecycle keys as the recipe reference spells them. Nucleus lite reads them case-sensitively (a phase
 * spelled `Install` is not found and the component silently never starts); the Java nucleus ignores
 * case. The local host is as strict as nucleus lite, so a recipe that runs here runs on both.
 */
export const LIFECYCLE_PHASES = ['install', 'run', 'startup', 'shutdown', 'recover', 'bootstrap'] as const;
export type LifecyclePhase = (typeof LIFECYCLE_PHASES)[number];
const STEP_KEYS = ['Script', 'Setenv', 'RequiresPrivilege', 'Timeout', 'Skipif'] as const;

const stepSchema = z.union([
  z.string(),
  z.strictObject({
    Script: z.string(),
    Timeout: z.number().int().positive().optional(),
    Setenv: z.record(z.string(), z.string()).optional(),
    RequiresPrivilege: z.boolean().optional(),
    Skipif: z.string().optional(),
  }),
]);
export type LifecycleStep = z.infer<typeof stepSchema>;

const manifestSchema = z.object({
  Platform: z
    .object({
      os: z.string().optional(),
      architecture: z.string().optional(),
      'architecture.detail': z.string().optional(),
      runtime: z.string().optional(),
    })
    .optional(),
  Lifecycle: z
    .strictObject({
      Setenv: z.record(z.string(), z.string()).optional(),
      install: stepSchema.optional(),
      run: stepSchema.optional(),
      startup: stepSchema.optional(),
      shutdown: stepSchema.optional(),
      recover: stepSchema.optional(),
      bootstrap: stepSchema.optional(),
    })
    .optional(),
  Artifacts: z
    .array(
      z.object({
        URI: z.string(),
        Unarchive: z.enum(['ZIP', 'NONE']).optional(),
        Permission: z.unknown().optional(),
      }),
    )
    .optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const recipeSchema = z.object({
  RecipeFormatVersion: z.literal('2020-01-25'),
  ComponentName: z.string().min(1),
  ComponentVersion: z.string().regex(/^\d+\.\d+\.\d+(-[\w.]+)?$/),
  ComponentDescription: z.string().optional(),
  ComponentPublisher: z.string().optional(),
  ComponentConfiguration: z
    .object({ DefaultConfiguration: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  ComponentDependencies: z
    .record(
      z.string(),
      z.object({
        VersionRequirement: z.string().optional(),
        DependencyType: z.enum(['HARD', 'SOFT']).optional(),
      }),
    )
    .optional(),
  Manifests: z.array(manifestSchema).min(1),
});
export type Recipe = z.infer<typeof recipeSchema>;

/** Why a manifest's lifecycle keys would not run on both nuclei (wrongly cased or unknown keys). */
export function lifecycleKeyProblems(lifecycle: unknown): string[] {
  if (typeof lifecycle !== 'object' || lifecycle === null) return [];
  const problems: string[] = [];
  const known = (keys: readonly string[], key: string, where: string): void => {
    if (keys.includes(key)) return;
    const meant = keys.find((k) => k.toLowerCase() === key.toLowerCase());
    problems.push(
      meant === undefined
        ? `${where}${key} is not a lifecycle key (${keys.join(', ')})`
        : `${where}${key} must be spelled ${meant}: nucleus lite reads recipe keys case-sensitively`,
    );
  };
  for (const [key, step] of Object.entries(lifecycle as Record<string, unknown>)) {
    known(['Setenv', ...LIFECYCLE_PHASES], key, 'Lifecycle.');
    if (typeof step === 'object' && step !== null && key !== 'Setenv')
      for (const inner of Object.keys(step)) known(STEP_KEYS, inner, `Lifecycle.${key}.`);
  }
  return problems;
}

export function loadRecipe(path: string): Recipe {
  const raw: unknown = path.endsWith('.json')
    ? JSON.parse(readFileSync(path, 'utf8'))
    : parseYaml(readFileSync(path, 'utf8'));
  const manifests = (raw as { Manifests?: unknown } | null)?.Manifests;
  const problems = Array.isArray(manifests)
    ? manifests.flatMap((m: { Lifecycle?: unknown } | null, i) =>
        lifecycleKeyProblems(m?.Lifecycle).map((p) => `Manifests[${i}].${p}`),
      )
    : [];
  if (problems.length > 0) throw new Error(`recipe ${path}: ${problems.join('; ')}`);
  return recipeSchema.parse(raw);
}

export function defaultConfiguration(recipe: Recipe): JsonTree {
  return structuredClone((recipe.ComponentConfiguration?.DefaultConfiguration ?? {}) as JsonTree);
}

/** The architecture name the nucleus reports for this machine (GREENGRASS.md, "Recipes"). */
export function nucleusArchitecture(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return 'arm';
    case 'ia32':
      return 'x86';
    default:
      return arch;
  }
}

/** The first manifest matching the platform wins, as on the nucleus. */
export function selectManifest(
  recipe: Recipe,
  os = 'linux',
  architecture = nucleusArchitecture(),
): Manifest | undefined {
  const matches = (want: string | undefined, have: string): boolean =>
    want === undefined || want === '*' || want === have;
  return recipe.Manifests.find(
    (m) => matches(m.Platform?.os, os) && matches(m.Platform?.architecture, architecture),
  );
}

export function stepScript(
  step: LifecycleStep | undefined,
): { script: string; timeoutMs?: number; setenv: Record<string, string> } | undefined {
  if (step === undefined) return undefined;
  if (typeof step === 'string') return { script: step, setenv: {} };
  return {
    script: step.Script,
    ...(step.Timeout === undefined ? {} : { timeoutMs: step.Timeout * 1000 }),
    setenv: step.Setenv ?? {},
  };
}

export interface RecipeVariableContext {
  readonly componentName: string;
  readonly thingName: string;
  readonly rootPath: string;
  readonly artifactsPath: (component: string) => string;
  readonly decompressedPath: (component: string) => string;
  readonly workPath: (component: string) => string;
  readonly configuration: (component: string) => JsonTree | undefined;
}

function jsonPointer(tree: JsonTree, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return tree;
  let node: unknown = tree;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Replaces recipe variables the way both nuclei understand them: `{artifacts:path}`,
 * `{artifacts:decompressedPath}`, `{work:path}`, `{kernel:rootPath}`, `{iot:thingName}` and
 * `{configuration:/pointer}` (this component's). As in nucleus lite, every `{` opens a variable that
 * ends at the next `}`: a shell `{ ...; }` group, a JavaScript block or a component-prefixed form
 * (`{Other:work:path}`, which only the Java nucleus knows) is an error, and the step does not run.
 */
export function interpolate(text: string, ctx: RecipeVariableContext): { text: string; errors: string[] } {
  const errors: string[] = [];
  let out = '';
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{', at);
    if (open < 0) {
      out += text.slice(at);
      break;
    }
    out += text.slice(at, open);
    const close = text.indexOf('}', open + 1);
    if (close < 0) {
      errors.push(`recipe variable not terminated: ${text.slice(open, open + 40)}`);
      break;
    }
    const body = text.slice(open + 1, close);
    const value = variable(body, ctx);
    if (typeof value === 'string') out += value;
    else errors.push(`${value.error}: {${body}}`);
    at = close + 1;
  }
  return { text: out, errors };
}

function variable(body: string, ctx: RecipeVariableContext): string | { error: string } {
  const colon = body.indexOf(':');
  if (colon < 0) return { error: 'No : found in recipe variable' };
  const ns = body.slice(0, colon);
  const key = body.slice(colon + 1);
  if (ns === 'artifacts' && key === 'path') return ctx.artifactsPath(ctx.componentName);
  if (ns === 'artifacts' && key === 'decompressedPath') return ctx.decompressedPath(ctx.componentName);
  if (ns === 'work' && key === 'path') return ctx.workPath(ctx.componentName);
  if (ns === 'kernel' && key === 'rootPath') return ctx.rootPath;
  if (ns === 'iot' && key === 'thingName') return ctx.thingName;
  if (ns === 'configuration') {
    const tree = ctx.configuration(ctx.componentName);
    const found = tree === undefined ? undefined : jsonPointer(tree, key);
    if (found === undefined) return { error: 'configuration key not found' };
    return typeof found === 'string' ? found : JSON.stringify(found);
  }
  return { error: 'Unhandled variable substitution' };
}
