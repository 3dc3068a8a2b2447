/**
 * gdk builds and publishes exactly one component per gdk-config.json, and one region per project. This
 * writes one gdk project per component and region under build/gdk/<region>/<Component>/, from the suite's
 * shared settings in the root gdk-config.json (author, version, publish bucket and region: the one place
 * for them):
 *   gdk-config.json   that component only, publish.region set, custom build in array form
 *   recipe.yaml       from recipes/
 *   gdk-stage.cjs     the custom build step: puts the recipe (version, publisher and suite dependency
 *   suite-version.cjs ranges set) and the component's artifact zips where gdk expects them
 *   project.json      which zips, and where `npm run build:components` wrote them
 *
 *   npm run build:components && npm run gdk:projects [-- --regions eu-west-1,eu-central-1]
 *   cd build/gdk/eu-west-1/com.edgedr.Buffer && gdk component build && gdk component publish
 *
 * `npm run release` does all of it at a chosen version.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { argValue } from '../dev/args';
import { loadRecipe } from '../shared/src/runtime/host/recipe';
import { ARTIFACTS_DIR, GDK_PROJECTS_DIR, PROJECT_ROOT } from './build-paths';

export interface GdkComponentSettings {
  readonly author: string;
  readonly version: string;
  readonly build: { readonly build_system: string; readonly custom_build_command?: readonly string[] };
  readonly publish: { readonly bucket: string; readonly region?: string; readonly options?: unknown };
}

export interface GdkConfig {
  readonly gdk_version: string;
  readonly component: Readonly<Record<string, GdkComponentSettings>>;
}

export interface GdkProject {
  readonly component: string;
  readonly region: string;
  readonly dir: string;
}

export const ROOT_GDK_CONFIG = join(PROJECT_ROOT, 'gdk-config.json');

/** The suite's shared gdk settings: the one component entry of the root gdk-config.json. */
export function sharedGdkSettings(rootConfigPath = ROOT_GDK_CONFIG): {
  readonly gdkVersion: string;
  readonly settings: GdkComponentSettings;
} {
  const root = JSON.parse(readFileSync(rootConfigPath, 'utf8')) as GdkConfig;
  const [settings] = Object.values(root.component);
  if (settings === undefined) throw new Error(`${rootConfigPath} names no component`);
  return { gdkVersion: root.gdk_version, settings };
}

export function parseRegions(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const regions = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  for (const r of regions)
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) throw new Error(`${r} is not an AWS region name`);
  if (regions.length === 0) throw new Error('--regions names no region');
  return regions;
}

/** Writes the per-component gdk projects for each region; returns them. */
export function writeGdkProjects(
  outDir: string,
  artifactsSource: string,
  options: {
    readonly rootConfigPath?: string;
    readonly recipesDir?: string;
    readonly regions?: readonly string[];
  } = {},
): GdkProject[] {
  const { gdkVersion, settings } = sharedGdkSettings(options.rootConfigPath);
  const recipesDir = options.recipesDir ?? join(PROJECT_ROOT, 'recipes');
  const regions = options.regions ?? (settings.publish.region === undefined ? [] : [settings.publish.region]);
  if (regions.length === 0)
    throw new Error('no publish region: set publish.region in gdk-config.json or pass --regions');
  const projects: GdkProject[] = [];
  for (const region of regions)
    for (const file of readdirSync(recipesDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      const recipePath = join(recipesDir, file);
      const recipe = loadRecipe(recipePath);
      const name = recipe.ComponentName;
      const dir = join(outDir, region, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const config: GdkConfig = {
        gdk_version: gdkVersion,
        component: {
          [name]: {
            ...settings,
            build: { build_system: 'custom', custom_build_command: ['node', 'gdk-stage.cjs', name] },
            publish: { ...settings.publish, region },
          },
        },
      };
      writeFileSync(join(dir, 'gdk-config.json'), `${JSON.stringify(config, null, 2)}\n`);
      copyFileSync(recipePath, join(dir, 'recipe.yaml'));
      for (const script of ['gdk-stage.cjs', 'suite-version.cjs'])
        copyFileSync(join(PROJECT_ROOT, 'scripts', script), join(dir, script));
      const artifacts = [
        ...new Set(recipe.Manifests.flatMap((m) => m.Artifacts ?? []).map((a) => basename(a.URI))),
      ];
      writeFileSync(
        join(dir, 'project.json'),
        `${JSON.stringify({ artifacts, artifactsSource }, null, 2)}\n`,
      );
      projects.push({ component: name, region, dir });
    }
  return projects;
}

if (require.main === module) {
  try {
    const regions = parseRegions(argValue(process.argv.slice(2), '--regions'));
    const projects = writeGdkProjects(
      GDK_PROJECTS_DIR,
      ARTIFACTS_DIR,
      regions === undefined ? {} : { regions },
    );
    for (const p of projects) console.log(`${p.region} ${p.component}: ${p.dir}`);
    console.log('then, in each: gdk component build && gdk component publish');
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
