/**
 * gdk builds and publishes exactly one component per gdk-config.json. This writes one gdk project per
 * component under greengrass-build/gdk/<Component>/, from the suite's shared settings in the root
 * gdk-config.json (author, version, publish bucket and region: the one place for them):
 *   gdk-config.json   that component only, custom build in array form
 *   recipe.yaml       from recipes/
 *   gdk-stage.cjs     the custom build step: puts the recipe and the component's artifact zips where gdk
 *                     expects them (greengrass-build/recipes/, greengrass-build/artifacts/<name>/<version>/)
 *   project.json      which zips, and where `npm run build:components` wrote them
 *
 *   npm run build:components && npm run gdk:projects
 *   cd greengrass-build/gdk/com.edgedr.Buffer && gdk component build && gdk component publish
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadRecipe } from '../shared/src/runtime/host/recipe';

const ROOT = resolve(__dirname, '..');

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

/** Writes the per-component gdk projects; returns their directories by component name. */
export function writeGdkProjects(
  outDir: string,
  artifactsSource: string,
  rootConfigPath = join(ROOT, 'gdk-config.json'),
): Map<string, string> {
  const root = JSON.parse(readFileSync(rootConfigPath, 'utf8')) as GdkConfig;
  const [shared] = Object.values(root.component);
  if (shared === undefined) throw new Error(`${rootConfigPath} names no component`);
  const projects = new Map<string, string>();
  for (const file of readdirSync(join(ROOT, 'recipes'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const recipePath = join(ROOT, 'recipes', file);
    const recipe = loadRecipe(recipePath);
    const name = recipe.ComponentName;
    const dir = join(outDir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const config: GdkConfig = {
      gdk_version: root.gdk_version,
      component: {
        [name]: {
          ...shared,
          build: { build_system: 'custom', custom_build_command: ['node', 'gdk-stage.cjs', name] },
        },
      },
    };
    writeFileSync(join(dir, 'gdk-config.json'), `${JSON.stringify(config, null, 2)}\n`);
    copyFileSync(recipePath, join(dir, 'recipe.yaml'));
    copyFileSync(join(ROOT, 'scripts', 'gdk-stage.cjs'), join(dir, 'gdk-stage.cjs'));
    const artifacts = [
      ...new Set(recipe.Manifests.flatMap((m) => m.Artifacts ?? []).map((a) => basename(a.URI))),
    ];
    writeFileSync(join(dir, 'project.json'), `${JSON.stringify({ artifacts, artifactsSource }, null, 2)}\n`);
    projects.set(name, dir);
  }
  return projects;
}

if (require.main === module) {
  const out = join(ROOT, 'greengrass-build', 'gdk');
  const projects = writeGdkProjects(out, join(ROOT, 'greengrass-build', 'artifacts'));
  for (const [name, dir] of projects) console.log(`${name}: ${dir}`);
  console.log('then, in each: gdk component build && gdk component publish');
}
