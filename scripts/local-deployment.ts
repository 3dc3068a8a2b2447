/**
 * Lays out the built components for a local deployment into a running Greengrass nucleus (for example
 * the public Greengrass Docker image) and prints the greengrass-cli command:
 *   npm run build:components -- --platform amd64
 *   npm run local-deployment -- [--spec deploy.yaml] [--platform amd64] [--container-path /edgedr]
 *
 * Output, under build/local-deployment/: recipes/<Component>.yaml, artifacts/<Component>/
 * <version>/<artifact>.zip (the layout `greengrass-cli deployment create --recipeDir --artifactDir`
 * reads), and update-config.json with each component's configuration MERGE from the spec (checked by the
 * components' schemas, as for a thing-group deployment). Mount that folder into the container at
 * `--container-path` and run the printed command there.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { argValue } from '../dev/args';
import { loadRecipe } from '../shared/src/runtime/host/recipe';
import { ARTIFACTS_DIR, LOCAL_DEPLOYMENT_DIR } from './build-paths';
import { deploymentDocument, OPTIONAL_COMPONENTS } from './deployment';

const ROOT = resolve(__dirname, '..');

export interface LocalDeployment {
  readonly dir: string;
  readonly components: Readonly<Record<string, string>>;
  readonly command: string[];
}

export function writeLocalDeployment(options: {
  readonly artifactsSource: string;
  readonly outDir: string;
  readonly platform: 'amd64' | 'aarch64';
  readonly containerPath: string;
  readonly spec?: unknown;
}): LocalDeployment {
  const { outDir, platform, containerPath } = options;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'recipes'), { recursive: true });
  const components: Record<string, string> = {};
  const updateConfig: Record<string, { MERGE: unknown }> = {};
  const merges =
    options.spec === undefined
      ? {}
      : Object.fromEntries(
          Object.entries(deploymentDocument(options.spec).components)
            .filter(([, c]) => c.configurationUpdate !== undefined)
            .map(([name, c]) => [name, JSON.parse(c.configurationUpdate?.merge ?? '{}') as unknown]),
        );
  for (const file of readdirSync(join(ROOT, 'recipes'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const recipe = loadRecipe(join(ROOT, 'recipes', file));
    const name = recipe.ComponentName;
    const version = recipe.ComponentVersion;
    // The optional status page only when the spec asks for it, as in a thing-group deployment.
    if (OPTIONAL_COMPONENTS.has(name) && !isNamed(options.spec, name)) continue;
    components[name] = version;
    copyFileSync(join(ROOT, 'recipes', file), join(outDir, 'recipes', `${name}-${version}.yaml`));
    const artifacts = recipe.Manifests.filter((m) => m.Platform?.architecture === platform).flatMap(
      (m) => m.Artifacts ?? [],
    );
    const dest = join(outDir, 'artifacts', name, version);
    mkdirSync(dest, { recursive: true });
    for (const a of artifacts) {
      const zip = basename(a.URI);
      const from = join(options.artifactsSource, zip);
      if (!existsSync(from))
        throw new Error(`${from} is missing: run npm run build:components -- --platform ${platform}`);
      copyFileSync(from, join(dest, zip));
    }
    if (merges[name] !== undefined) updateConfig[name] = { MERGE: merges[name] };
  }
  writeFileSync(join(outDir, 'update-config.json'), `${JSON.stringify(updateConfig, null, 2)}\n`);
  const command = [
    '/greengrass/v2/bin/greengrass-cli',
    'deployment',
    'create',
    '--recipeDir',
    `${containerPath}/recipes`,
    '--artifactDir',
    `${containerPath}/artifacts`,
    ...Object.entries(components).flatMap(([n, v]) => ['--merge', `${n}=${v}`]),
    ...(Object.keys(updateConfig).length > 0
      ? ['--update-config', `${containerPath}/update-config.json`]
      : []),
  ];
  return { dir: outDir, components, command };
}

function isNamed(spec: unknown, component: string): boolean {
  const components = (spec as { components?: Record<string, unknown> } | undefined)?.components;
  return components !== undefined && components !== null && component in components;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (n: string): string | undefined => argValue(argv, n);
  const platform = value('--platform') ?? 'amd64';
  if (platform !== 'amd64' && platform !== 'aarch64') {
    console.error(`unknown platform ${platform}: amd64 or aarch64`);
    process.exit(2);
  }
  const specPath = value('--spec');
  try {
    const result = writeLocalDeployment({
      artifactsSource: ARTIFACTS_DIR,
      outDir: LOCAL_DEPLOYMENT_DIR,
      platform,
      containerPath: value('--container-path') ?? '/edgedr',
      ...(specPath === undefined ? {} : { spec: parse(readFileSync(specPath, 'utf8')) }),
    });
    console.log(`laid out ${Object.keys(result.components).length} components in ${result.dir}`);
    console.log('in the nucleus container (with that folder mounted at the container path):');
    console.log(`  ${result.command.join(' ')}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
