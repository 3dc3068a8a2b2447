import { build, type BuildOptions, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildPageOutAddon, PAGE_OUT_BESIDE_BUNDLE, type AddonArch } from './native-addon';
import type { Manifest } from './recipe';

/** Artifacts are `<component>-<platform>.zip` (one per platform); the component is its directory name. */
export function componentOfArtifact(name: string): string {
  return name.replace(/-(aarch64|amd64)$/, '');
}

/** Native packages load their own binaries and stay outside the bundle. */
export const NATIVE_EXTERNALS = ['better-sqlite3', 'aws-crt', 'onnxruntime-node'];

/**
 * How every component is bundled, for local runs and for the released zips alike. Whitespace and syntax
 * are minified: node keeps a script's whole source in memory, and over a quarter of each bundle is
 * layout (about 2 MB across the four components). Names stay as written, so stack traces in the logs read the
 * same as the source.
 */
export function bundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    external: NATIVE_EXTERNALS,
    logLevel: 'silent',
  };
}

/** The native packages a bundle loads (its externals), from esbuild's metafile. */
export function nativesImported(metafile: Metafile): string[] {
  const imported = new Set(
    Object.values(metafile.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external).map((i) => i.path.split('/')[0] ?? i.path),
    ),
  );
  return NATIVE_EXTERNALS.filter((n) => imported.has(n));
}

/** A bundle that loads onnxruntime gives its start-up pages back (page-out.ts): the addon goes beside it. */
export function wantsPageOut(natives: readonly string[]): boolean {
  return natives.includes('onnxruntime-node');
}

/** Puts page-out.node for `target` beside a bundle in `dir`. */
export function copyPageOutAddon(dir: string, target: AddonArch): void {
  const to = join(dir, PAGE_OUT_BESIDE_BUNDLE);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(buildPageOutAddon(target), to);
}

let pageOutWarned = false;

/** Folders of `components/<name>/` a component reads beside its bundle (Inference's model, the status page). */
export const FILES_BESIDE_BUNDLE = ['models', 'assets'];

/** Copies a component's folders that go beside its bundle into `outDir`. */
export function copyFilesBesideBundle(componentDir: string, outDir: string): void {
  for (const folder of FILES_BESIDE_BUNDLE) {
    const from = join(componentDir, folder);
    if (existsSync(from)) cpSync(from, join(outDir, folder), { recursive: true });
  }
}

/**
 * Builds, for local runs, what the recipe's ZIP artifacts unpack to on a gateway: for an artifact
 * `<name>-<platform>.zip`, the bundle of `components/<name>/src/main.ts` at
 * `<decompressedPath>/<name>-<platform>/main.js`, with `components/<name>/models/` and `assets/` beside it.
 * Native modules resolve from the project's node_modules (NODE_PATH); packaged artifacts carry their own.
 */
export async function buildLocalArtifacts(
  projectRoot: string,
  manifest: Manifest,
  decompressedPath: string,
): Promise<void> {
  for (const artifact of manifest.Artifacts ?? []) {
    if (artifact.Unarchive !== 'ZIP' || !artifact.URI.endsWith('.zip')) continue;
    const name = basename(artifact.URI, '.zip');
    const component = componentOfArtifact(name);
    const entry = join(projectRoot, 'components', component, 'src', 'main.ts');
    if (!existsSync(entry)) throw new Error(`artifact ${artifact.URI}: no entry point ${entry}`);
    const outDir = join(decompressedPath, name);
    mkdirSync(outDir, { recursive: true });
    const result = await build({
      ...bundleOptions(entry, join(outDir, 'main.js')),
      sourcemap: true,
      metafile: true,
    });
    if (wantsPageOut(nativesImported(result.metafile)))
      try {
        copyPageOutAddon(outDir, process.arch === 'arm64' ? 'arm64' : 'x64');
      } catch (err) {
        // Local runs work without it: the component then keeps those pages, and says so in its log.
        if (!pageOutWarned) console.warn(`local artifacts: ${(err as Error).message}`);
        pageOutWarned = true;
      }
    // Local bundles use the project's native modules: only the Node version is checked at Install.
    writeBuildInfo(outDir, { platform: 'local', abiBound: false, glibc: null });
    // Files the component reads beside its bundle (the shipped model, the status page).
    copyFilesBesideBundle(join(projectRoot, 'components', component), outDir);
  }
}

/** What an artifact was built for, read by its Install step (shared/artifact/install-check.js). */
export interface BuildInfo {
  readonly platform: string;
  /** The bundle loads better-sqlite3, which is bound to the Node ABI that built it. */
  readonly abiBound: boolean;
  /** The newest glibc symbol version its native binaries need. */
  readonly glibc: string | null;
  /** SHA-256 of main.js: names the source map kept aside for it (scripts/stack.ts). */
  readonly bundleSha256?: string;
}

/** Writes `build-info.json` and the Install check beside a component's bundle. */
export function writeBuildInfo(dir: string, info: BuildInfo): void {
  writeFileSync(
    join(dir, 'build-info.json'),
    `${JSON.stringify({ node: process.version, modules: process.versions.modules, ...info }, null, 2)}\n`,
  );
  cpSync(join(__dirname, '..', '..', '..', 'artifact', 'install-check.js'), join(dir, 'install-check.js'));
}

/** Unpacks built `<name>.zip` artifacts into `<decompressedPath>/<name>/`, as the nucleus does. */
export function unpackArtifacts(artifactsDir: string, manifest: Manifest, decompressedPath: string): void {
  for (const artifact of manifest.Artifacts ?? []) {
    if (artifact.Unarchive !== 'ZIP' || !artifact.URI.endsWith('.zip')) continue;
    const name = basename(artifact.URI, '.zip');
    const zip = join(artifactsDir, `${name}.zip`);
    if (!existsSync(zip)) throw new Error(`artifact ${artifact.URI}: no ${zip} (npm run build:components)`);
    const outDir = join(decompressedPath, name);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    execFileSync('unzip', ['-q', zip, '-d', outDir]);
  }
}
