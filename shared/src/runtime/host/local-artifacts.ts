import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Manifest } from './recipe';

/** Artifacts are `<component>-<platform>.zip` (one per platform); the component is its directory name. */
export function componentOfArtifact(name: string): string {
  return name.replace(/-(aarch64|amd64)$/, '');
}

/** Native packages load their own binaries and stay outside the bundle. */
export const NATIVE_EXTERNALS = ['better-sqlite3', 'aws-crt', 'onnxruntime-node'];

/**
 * Builds, for local runs, what the recipe's ZIP artifacts unpack to on a gateway: for an artifact
 * `<name>-<platform>.zip`, the bundle of `components/<name>/src/main.ts` at
 * `<decompressedPath>/<name>-<platform>/main.js`, with `components/<name>/models/` beside it.
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
    await build({
      entryPoints: [entry],
      outfile: join(outDir, 'main.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      external: NATIVE_EXTERNALS,
      logLevel: 'silent',
    });
    // Files the component reads beside its bundle (the shipped model).
    const models = join(projectRoot, 'components', component, 'models');
    if (existsSync(models)) cpSync(models, join(outDir, 'models'), { recursive: true });
  }
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
