import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { JsonTree } from './config-tree';

const stepSchema = z.union([
  z.string(),
  z.object({
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
    .object({
      Setenv: z.record(z.string(), z.string()).optional(),
      Install: stepSchema.optional(),
      Run: stepSchema.optional(),
      Startup: stepSchema.optional(),
      Shutdown: stepSchema.optional(),
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

export function loadRecipe(path: string): Recipe {
  const raw: unknown = path.endsWith('.json')
    ? JSON.parse(readFileSync(path, 'utf8'))
    : parseYaml(readFileSync(path, 'utf8'));
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
 * Replaces recipe variables: {artifacts:path}, {artifacts:decompressedPath}, {work:path},
 * {kernel:rootPath}, {iot:thingName}, {configuration:/pointer}, and the cross-component forms
 * {Component:artifacts:path|decompressedPath}, {Component:work:path}, {Component:configuration:/pointer}.
 * Unknown variables are left as they are, like the nucleus does.
 */
export function interpolate(text: string, ctx: RecipeVariableContext): { text: string; unknown: string[] } {
  const unknown: string[] = [];
  const out = text.replace(/\{([^{}\s]+)\}/g, (whole, body: string) => {
    const parts = body.split(':');
    let component = ctx.componentName;
    if (
      parts.length >= 3 &&
      !['artifacts', 'work', 'kernel', 'iot', 'configuration'].includes(parts[0] ?? '')
    ) {
      component = parts.shift() ?? component;
    }
    const [ns, key, ...rest] = parts;
    const value = ((): string | undefined => {
      if (ns === 'artifacts' && key === 'path') return ctx.artifactsPath(component);
      if (ns === 'artifacts' && key === 'decompressedPath') return ctx.decompressedPath(component);
      if (ns === 'work' && key === 'path') return ctx.workPath(component);
      if (ns === 'kernel' && key === 'rootPath' && component === ctx.componentName) return ctx.rootPath;
      if (ns === 'iot' && key === 'thingName' && component === ctx.componentName) return ctx.thingName;
      if (ns === 'configuration' && key !== undefined) {
        const tree = ctx.configuration(component);
        const found = tree === undefined ? undefined : jsonPointer(tree, [key, ...rest].join(':'));
        if (found === undefined) return undefined;
        return typeof found === 'string' ? found : JSON.stringify(found);
      }
      return undefined;
    })();
    if (value === undefined) {
      unknown.push(whole);
      return whole;
    }
    return value;
  });
  return { text: out, unknown };
}
