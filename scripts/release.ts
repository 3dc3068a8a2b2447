/**
 * One command from a version to what gdk publishes and what `npm run deployment` deploys:
 *   npm run release -- --version 0.2.0 | --bump patch|minor|major | --version NEXT_PATCH
 *                      [--regions eu-west-1,eu-central-1] [--author NAME] [--platform amd64|aarch64|all]
 *                      [--skip-build]
 *
 * Sets the version (and author) in the root gdk-config.json, the one place for them; rewrites the four
 * recipes' ComponentVersion, ComponentPublisher and their dependency ranges on the suite's components
 * (nothing else in them), and the version the components log; builds the zips; writes one gdk project
 * per component and region (build/gdk/<region>/<Component>/) and build/release.json. With NEXT_PATCH gdk
 * chooses each version at publish: the recipes keep the last fixed release, which gdk-stage.cjs uses to
 * widen the suite's dependency ranges so that what gdk chooses (1.0.0 in an empty account) still meets them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argValue } from '../dev/args';
import { loadRecipe } from '../shared/src/runtime/host/recipe';
import { buildComponents } from './build-components';
import { ARTIFACTS_DIR, BUILD_DIR, GDK_PROJECTS_DIR, PROJECT_ROOT } from './build-paths';
import {
  parseRegions,
  sharedGdkSettings,
  writeGdkProjects,
  type GdkConfig,
  type GdkProject,
} from './gdk-projects';
import { bump, NEXT_PATCH, parseVersion, rewriteRecipe, suiteRange } from './suite-version.cjs';

export type Bump = 'patch' | 'minor' | 'major';

export interface ReleaseOptions {
  /** A semantic version or NEXT_PATCH; or give `bump`. */
  readonly version?: string;
  readonly bump?: Bump;
  readonly author?: string;
  readonly regions?: readonly string[];
  /** The project tree to release (recipes/, gdk-config.json, recipe.yaml, components/). */
  readonly root?: string;
  readonly artifactsDir?: string;
  readonly gdkProjectsDir?: string;
  readonly manifestPath?: string;
}

export interface ReleaseResult {
  readonly version: string;
  readonly author: string;
  readonly recipesVersion: string;
  readonly suiteRange: string;
  readonly components: readonly string[];
  readonly projects: readonly GdkProject[];
  readonly manifestPath: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The component configuration files that carry the version a component logs. */
function versionConstantFiles(root: string): string[] {
  const dir = join(root, 'components');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((c) => join(dir, c, 'src', 'config.ts'))
    .filter((f) => existsSync(f) && /export const [A-Z]+_VERSION = '/.test(readFileSync(f, 'utf8')));
}

/** Everything but the builds of zips: rewrites the tree and writes the gdk projects and the manifest. */
export function release(options: ReleaseOptions): ReleaseResult {
  const root = options.root ?? PROJECT_ROOT;
  const recipesDir = join(root, 'recipes');
  const rootConfigPath = join(root, 'gdk-config.json');
  const { settings } = sharedGdkSettings(rootConfigPath);
  const recipeFiles = readdirSync(recipesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const recipeVersions = new Set(recipeFiles.map((f) => loadRecipe(join(recipesDir, f)).ComponentVersion));
  if (recipeVersions.size !== 1)
    throw new Error(`recipes/ disagree on the version (${[...recipeVersions].join(', ')}): pass --version`);
  const current = [...recipeVersions][0] as string;

  if ((options.version === undefined) === (options.bump === undefined))
    throw new Error('give either --version X.Y.Z (or NEXT_PATCH) or --bump patch|minor|major');
  const version = options.version ?? bump(current, options.bump as Bump);
  if (version !== NEXT_PATCH && parseVersion(version) === null)
    throw new Error(`--version ${version}: a semantic version (for example 0.2.0) or NEXT_PATCH`);
  const author = options.author ?? settings.author;
  if (author.trim() === '') throw new Error('the author (ComponentPublisher) must not be empty');

  // The root settings: the one place gdk projects and npm run deployment read. Only the two values
  // change in the file's text, so its formatting stays as it is.
  const rootText = readFileSync(rootConfigPath, 'utf8');
  const setField = (text: string, field: string, value: string): string => {
    const pattern = new RegExp(`("${field}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`);
    if (!pattern.test(text)) throw new Error(`${rootConfigPath} has no "${field}"`);
    return text.replace(pattern, (_m, head: string) => `${head}${JSON.stringify(value)}`);
  };
  writeFileSync(rootConfigPath, setField(setField(rootText, 'version', version), 'author', author));
  const rootConfig = readJson<GdkConfig>(rootConfigPath);
  if (
    sharedGdkSettings(rootConfigPath).settings.version !== version ||
    Object.keys(rootConfig.component).length !== 1
  )
    throw new Error(`${rootConfigPath}: could not set the version`);

  // Recipes: at a fixed version they carry it; at NEXT_PATCH they keep the last fixed release (the base).
  const recipesVersion = version === NEXT_PATCH ? current : version;
  const range = suiteRange(recipesVersion, recipesVersion);
  const components: string[] = [];
  for (const file of recipeFiles) {
    const path = join(recipesDir, file);
    writeFileSync(
      path,
      rewriteRecipe(readFileSync(path, 'utf8'), { version: recipesVersion, publisher: author, range }).text,
    );
    components.push(loadRecipe(path).ComponentName);
  }
  const placeholder = join(root, 'recipe.yaml');
  if (existsSync(placeholder))
    writeFileSync(
      placeholder,
      rewriteRecipe(readFileSync(placeholder, 'utf8'), { version: recipesVersion, publisher: author, range })
        .text,
    );
  for (const file of versionConstantFiles(root))
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        /^(export const [A-Z]+_VERSION = )'[^']*';$/m,
        `$1'${recipesVersion}';`,
      ),
    );

  const regions = options.regions ?? (settings.publish.region === undefined ? [] : [settings.publish.region]);
  const artifactsDir = options.artifactsDir ?? ARTIFACTS_DIR;
  const projects = writeGdkProjects(options.gdkProjectsDir ?? GDK_PROJECTS_DIR, artifactsDir, {
    rootConfigPath,
    recipesDir,
    regions,
  });
  const manifestPath = options.manifestPath ?? join(BUILD_DIR, 'release.json');
  mkdirSync(join(manifestPath, '..'), { recursive: true });
  const stagedRange = suiteRange(version, recipesVersion);
  writeFileSync(
    manifestPath,
    `${JSON.stringify(
      {
        version,
        author,
        recipesVersion,
        suiteDependencyRange: stagedRange,
        regions,
        bucketPrefix: settings.publish.bucket,
        components,
        artifactsDir,
        projects,
      },
      null,
      2,
    )}\n`,
  );
  return { version, author, recipesVersion, suiteRange: stagedRange, components, projects, manifestPath };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (n: string): string | undefined => argValue(argv, n);
  const run = async (): Promise<void> => {
    const bumpKind = value('--bump');
    if (bumpKind !== undefined && !['patch', 'minor', 'major'].includes(bumpKind))
      throw new Error(`--bump ${bumpKind}: patch, minor or major`);
    const regions = parseRegions(value('--regions'));
    const version = value('--version');
    const author = value('--author');
    const result = release({
      ...(version === undefined ? {} : { version }),
      ...(bumpKind === undefined ? {} : { bump: bumpKind as Bump }),
      ...(author === undefined ? {} : { author }),
      ...(regions === undefined ? {} : { regions }),
    });
    console.log(
      `release ${result.version} by ${result.author}: recipes at ${result.recipesVersion}, suite dependencies ${result.suiteRange}`,
    );
    if (!argv.includes('--skip-build')) {
      const platform = value('--platform') ?? 'all';
      if (!['all', 'amd64', 'aarch64'].includes(platform))
        throw new Error(`--platform ${platform}: amd64, aarch64 or all`);
      const built = await buildComponents(
        platform === 'all' ? ['amd64', 'aarch64'] : [platform as 'amd64' | 'aarch64'],
        BUILD_DIR,
      );
      console.log(`built ${built.length} zips in ${ARTIFACTS_DIR}`);
    }
    console.log(`wrote ${result.manifestPath}; publish each project:`);
    for (const p of result.projects)
      console.log(`  (cd ${p.dir} && gdk component build && gdk component publish)`);
    console.log('then: npm run deployment -- --spec deploy.yaml --out deployment.json (one per region)');
  };
  run().catch((err: unknown) => {
    console.error(`release: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
