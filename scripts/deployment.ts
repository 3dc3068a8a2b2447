/**
 * Writes the `aws greengrassv2 create-deployment` document for a thing group:
 *   npm run deployment -- --spec deploy.yaml [--out deployment.json]
 *   aws greengrassv2 create-deployment --cli-input-json file://deployment.json --region eu-west-1
 *
 * The spec names the thing group and, per component, the configuration to merge over the recipe's
 * DefaultConfiguration (regions with endpoints and certificate paths, sources, quotas). Each merged
 * configuration is checked with the component's own schema before anything is written, so a typo or a
 * wrong type fails here, not on a gateway. The four data components are deployed whether the spec names
 * them or not (with their defaults when it does not); the optional status page (com.edgedr.Status) only
 * when the spec names it. Every component is deployed at the version that was released (see
 * releasedVersions).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { argValue } from '../dev/args';
import { bufferConfigSchema } from '../components/buffer/src/config';
import { inferenceConfigSchema } from '../components/inference/src/config';
import { ingestConfigSchema } from '../components/ingest/src/config';
import { replayConfigSchema } from '../components/replay/src/config';
import { statusConfigSchema } from '../components/status/src/config';
import { checkConfig } from '../shared/src/config';
import { withoutAccessControl } from '../shared/src/component/run';
import { deepMerge, type JsonTree } from '../shared/src/runtime/host/config-tree';
import { defaultConfiguration, loadRecipe } from '../shared/src/runtime/host/recipe';
import { GDK_PROJECTS_DIR, PROJECT_ROOT } from './build-paths';
import { ROOT_GDK_CONFIG, sharedGdkSettings } from './gdk-projects';
import { NEXT_PATCH } from './suite-version.cjs';

const ROOT = PROJECT_ROOT;

const SCHEMAS: Record<string, z.ZodType> = {
  'com.edgedr.Buffer': bufferConfigSchema,
  'com.edgedr.Ingest': ingestConfigSchema,
  'com.edgedr.Inference': inferenceConfigSchema,
  'com.edgedr.Replay': replayConfigSchema,
  'com.edgedr.Status': statusConfigSchema,
};

/** Deployed only when a spec names them: not part of the data path. */
export const OPTIONAL_COMPONENTS: ReadonlySet<string> = new Set(['com.edgedr.Status']);

const specSchema = z.strictObject({
  thingGroupArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:thinggroup\/[A-Za-z0-9:_-]+$/, 'a thing group ARN'),
  deploymentName: z.string().min(1).optional(),
  /** Per component: the configuration merged over its DefaultConfiguration. */
  components: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /** Rollout: how fast the deployment's job reaches the group's devices. */
  rollout: z
    .strictObject({
      maximumPerMinute: z.number().int().min(1).max(1_000).default(10),
      abortOnFailurePercent: z.number().min(0).max(100).default(10),
    })
    .default({ maximumPerMinute: 10, abortOnFailurePercent: 10 }),
});
export type DeploymentSpec = z.input<typeof specSchema>;

export interface DeploymentDocument {
  readonly targetArn: string;
  readonly deploymentName: string;
  readonly components: Record<string, { componentVersion: string; configurationUpdate?: { merge: string } }>;
  readonly deploymentPolicies: Record<string, unknown>;
  readonly iotJobConfiguration: Record<string, unknown>;
}

export interface ReleaseSources {
  readonly recipesDir?: string;
  readonly rootConfigPath?: string;
  readonly gdkProjectsDir?: string;
}

/**
 * The version of each component as released. At a fixed version (root gdk-config.json), that version,
 * after checking that recipes/ carry it too (npm run release keeps them together). At NEXT_PATCH gdk
 * chose each component's version when it published, so it is read from the recipe gdk publish wrote in
 * that region's gdk project (greengrass-build/recipes/<Component>-<version>.yaml).
 */
export function releasedVersions(region: string, sources: ReleaseSources = {}): Record<string, string> {
  const recipesDir = sources.recipesDir ?? join(ROOT, 'recipes');
  const { settings } = sharedGdkSettings(sources.rootConfigPath ?? ROOT_GDK_CONFIG);
  const out: Record<string, string> = {};
  const stale: string[] = [];
  for (const name of Object.keys(SCHEMAS)) {
    const recipeVersion = loadRecipe(join(recipesDir, `${name}.yaml`)).ComponentVersion;
    if (settings.version !== NEXT_PATCH) {
      if (recipeVersion !== settings.version) stale.push(`${name} is at ${recipeVersion}`);
      out[name] = settings.version;
      continue;
    }
    const built = join(
      sources.gdkProjectsDir ?? GDK_PROJECTS_DIR,
      region,
      name,
      'greengrass-build',
      'recipes',
    );
    const published = existsSync(built)
      ? readdirSync(built)
          .map((f) => new RegExp(`^${name.replaceAll('.', '\\.')}-(.+)\\.(?:yaml|json)$`).exec(f)?.[1])
          .filter((v): v is string => v !== undefined && v !== NEXT_PATCH)
      : [];
    if (published.length !== 1)
      throw new Error(
        `version NEXT_PATCH: gdk chooses ${name}'s version when it publishes, and ${built} holds ` +
          `${published.length === 0 ? 'no published recipe' : `several (${published.join(', ')})`}; ` +
          `run gdk component build && gdk component publish there first, or release a fixed version (npm run release -- --version X.Y.Z)`,
      );
    out[name] = published[0] as string;
  }
  if (stale.length > 0)
    throw new Error(
      `gdk-config.json says version ${settings.version} but recipes/: ${stale.join(', ')}; ` +
        `run npm run release -- --version ${settings.version} so that recipes, gdk projects and zips agree`,
    );
  return out;
}

/** Builds and checks the document; throws with every problem, naming component and key. */
export function deploymentDocument(rawSpec: unknown, sources: ReleaseSources = {}): DeploymentDocument {
  const recipesDir = sources.recipesDir ?? join(ROOT, 'recipes');
  const parsed = specSchema.safeParse(rawSpec);
  if (!parsed.success)
    throw new Error(
      `deployment spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const spec = parsed.data;
  const unknown = Object.keys(spec.components).filter((c) => !(c in SCHEMAS));
  if (unknown.length > 0) throw new Error(`deployment spec: unknown components ${unknown.join(', ')}`);
  const region = spec.thingGroupArn.split(':')[3] ?? '';
  const versions = releasedVersions(region, sources);
  const problems: string[] = [];
  const components: DeploymentDocument['components'] = {};
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    if (OPTIONAL_COMPONENTS.has(name) && spec.components[name] === undefined) continue;
    const recipe = loadRecipe(join(recipesDir, `${name}.yaml`));
    const merge = (spec.components[name] ?? {}) as JsonTree;
    const verdict = checkConfig(schema, withoutAccessControl(deepMerge(defaultConfiguration(recipe), merge)));
    if (!verdict.ok) problems.push(`${name}: ${verdict.message}`);
    components[name] = {
      componentVersion: versions[name] ?? recipe.ComponentVersion,
      ...(Object.keys(merge).length === 0 ? {} : { configurationUpdate: { merge: JSON.stringify(merge) } }),
    };
  }
  if (problems.length > 0) throw new Error(`deployment spec: ${problems.join('; ')}`);
  const group = spec.thingGroupArn.split('/').at(-1) ?? 'group';
  return {
    targetArn: spec.thingGroupArn,
    deploymentName: spec.deploymentName ?? `edgedr-${group}`,
    components,
    deploymentPolicies: {
      failureHandlingPolicy: 'ROLLBACK',
      componentUpdatePolicy: { timeoutInSeconds: 60, action: 'NOTIFY_COMPONENTS' },
      configurationValidationPolicy: { timeoutInSeconds: 60 },
    },
    iotJobConfiguration: {
      jobExecutionsRolloutConfig: { maximumPerMinute: spec.rollout.maximumPerMinute },
      abortConfig: {
        criteriaList: [
          {
            failureType: 'FAILED',
            action: 'CANCEL',
            thresholdPercentage: spec.rollout.abortOnFailurePercent,
            minNumberOfExecutedThings: 1,
          },
        ],
      },
    },
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (n: string): string | undefined => argValue(argv, n);
  const specPath = value('--spec');
  if (specPath === undefined) {
    console.error('usage: npm run deployment -- --spec deploy.yaml [--out deployment.json]');
    process.exit(2);
  }
  try {
    const doc = deploymentDocument(parse(readFileSync(specPath, 'utf8')));
    const out = value('--out') ?? 'deployment.json';
    writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`wrote ${out}: aws greengrassv2 create-deployment --cli-input-json file://${out}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
