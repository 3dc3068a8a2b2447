/**
 * Builds one self-contained artifact zip per component and platform:
 *   npm run build:components [-- --platform amd64|aarch64|all] [--sqlite-arm64 FILE]
 *
 * Each zip holds the component bundled with esbuild (`main.js`), the files it reads beside it (the
 * shipped model), and `node_modules/` with only the native packages its bundle imports plus their
 * runtime dependencies, pruned to the target platform's binaries: no `npm install` on the device and no
 * network at install time. A bundle that loads onnxruntime also gets `native/page-out.node`
 * (shared/native/page-out.c, compiled here with gcc or aarch64-linux-gnu-gcc). Greengrass unpacks `<name>-<platform>.zip` into
 * `{artifacts:decompressedPath}/<name>-<platform>/`, where that platform's Run step finds `main.js`.
 *
 * better-sqlite3 has no aarch64 binary in its package: it is compiled for the target, either given
 * (`--sqlite-arm64`) or cross-compiled here with g++-aarch64-linux-gnu and node-gyp against this Node's
 * headers. Output: build/artifacts/<name>-<platform>.zip (the names the recipes' manifests use) and
 * build/size-report.json (never under greengrass-build/, which gdk empties: see build-paths.ts), and each
 * bundle's source map, kept out of the zips, in build/sourcemaps/<component>/<version>/ (scripts/stack.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { arch } from 'node:os';
import { createHash } from 'node:crypto';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { argValue } from '../dev/args';
import { ARTIFACTS_VERSION_FILE, BUILD_DIR } from './build-paths';
import { sourceMapPath } from './stack';
import { buildCacheDir } from '../shared/src/runtime/host/native-addon';
import { loadRecipe } from '../shared/src/runtime/host/recipe';
import {
  bundleOptions,
  componentOfArtifact,
  copyFilesBesideBundle,
  copyPageOutAddon,
  nativesImported,
  wantsPageOut,
  writeBuildInfo,
} from '../shared/src/runtime/host/local-artifacts';

export type Platform = 'amd64' | 'aarch64';
const NODE_ARCH: Record<Platform, 'x64' | 'arm64'> = { amd64: 'x64', aarch64: 'arm64' };
const ROOT = resolve(__dirname, '..');
const NODE_MODULES = join(ROOT, 'node_modules');

/** Dependencies that only install scripts use; nothing loads them at run time. */
const INSTALL_ONLY = new Set(['prebuild-install', 'adm-zip', 'global-agent']);

function fail(line: string): never {
  console.error(line);
  process.exit(1);
}

/** Maps kept per artifact and version: rebuilds of one version keep the last few. */
const MAPS_KEPT_PER_VERSION = 5;

/**
 * Moves the bundle's source map out of the zip's folder to where `to` names it by the bundle's SHA-256
 * (scripts/stack.ts reads it), its sources named from the project root. Returns that digest.
 */
function keepSourceMap(stage: string, to: (sha256: string) => string): string {
  const bundle = readFileSync(join(stage, 'main.js'));
  const sha256 = createHash('sha256').update(bundle).digest('hex');
  const from = join(stage, 'main.js.map');
  const map = JSON.parse(readFileSync(from, 'utf8')) as { sources: string[] } & Record<string, unknown>;
  map.sources = map.sources.map((s) => relative(ROOT, resolve(stage, s)));
  map['x_bundleSha256'] = sha256;
  const path = to(sha256);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(map));
  rmSync(from);
  // Older builds of this version beyond the last few go.
  const prefix = basename(path).slice(0, -`${sha256}.js.map`.length);
  const older = readdirSync(dirname(path))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.js.map') && f !== basename(path))
    .map((f) => ({ f, mtimeMs: statSync(join(dirname(path), f)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { f } of older.slice(MAPS_KEPT_PER_VERSION - 1)) rmSync(join(dirname(path), f));
  return sha256;
}

function dirSize(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, f) => n + dirSize(join(path, f)), 0);
}

/** A package and the runtime dependencies it pulls in, from the project's (flat) node_modules. */
function runtimeClosure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || INSTALL_ONLY.has(name)) return;
    const manifest = join(NODE_MODULES, name, 'package.json');
    if (!existsSync(manifest)) fail(`build: ${name} is not installed; run npm ci first`);
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  roots.forEach(visit);
  return [...seen].sort();
}

/** Files packages ship for editors and debuggers: nothing loads them at run time. */
const NOT_RUN = /\.(map|d\.ts|d\.mts|d\.cts)$/;

function dropUnused(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) dropUnused(p);
    else if (NOT_RUN.test(entry.name)) rmSync(p);
  }
}

/** Removes what other platforms need, and sources, build leftovers and type declarations nothing loads. */
function prune(pkgDir: string, name: string, platform: Platform, sqliteArm64: string | undefined): void {
  const target = NODE_ARCH[platform];
  dropUnused(pkgDir);
  if (name === 'aws-crt') {
    const bin = join(pkgDir, 'dist', 'bin');
    for (const d of readdirSync(bin))
      if (d !== `linux-${target}-glibc`) rmSync(join(bin, d), { recursive: true });
    rmSync(join(pkgDir, 'dist.browser'), { recursive: true, force: true });
  }
  if (name === 'onnxruntime-node') {
    const napi = join(pkgDir, 'bin', 'napi-v6');
    for (const os of readdirSync(napi)) if (os !== 'linux') rmSync(join(napi, os), { recursive: true });
    for (const a of readdirSync(join(napi, 'linux')))
      if (a !== target) rmSync(join(napi, 'linux', a), { recursive: true });
    rmSync(join(pkgDir, 'script'), { recursive: true, force: true });
  }
  if (name === 'better-sqlite3') {
    for (const d of ['deps', 'src', 'docs']) rmSync(join(pkgDir, d), { recursive: true, force: true });
    const release = join(pkgDir, 'build', 'Release');
    const keep = join(release, 'better_sqlite3.node');
    const binary = platform === 'aarch64' && arch() !== 'arm64' ? sqliteArm64 : keep;
    if (binary === undefined) fail('build: no aarch64 better-sqlite3 binary (pass --sqlite-arm64 FILE)');
    const copy = readFileSync(binary);
    // ELF e_machine (offset 18): 0x3e x86-64, 0xb7 AArch64. A binary of the wrong platform never ships.
    const machine = copy.readUInt16LE(18);
    if (machine !== (platform === 'amd64' ? 0x3e : 0xb7))
      fail(`build: ${binary} is not a ${platform} binary (ELF machine 0x${machine.toString(16)})`);
    rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
    mkdirSync(release, { recursive: true });
    writeFileSync(keep, copy);
  }
}

/** The newest `GLIBC_x.y` symbol version any native binary under `dir` needs, or null. */
export function requiredGlibc(dir: string): string | null {
  let newest: number[] | null = null;
  const visit = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (/\.(node|so(\.\d+)*)$/.test(entry.name)) {
        for (const m of readFileSync(p)
          .toString('latin1')
          .matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)) {
          const v = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
          if (newest === null || compareVersions(v, newest) > 0) newest = v;
        }
      }
    }
  };
  visit(dir);
  const found = newest as number[] | null;
  return found === null ? null : found.slice(0, found[2] === 0 ? 2 : 3).join('.');
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Cross-compiles better-sqlite3 for aarch64 (once per Node ABI and better-sqlite3 version; cached). */
/**
 * Runs a long build step with its output kept out of the way, and a progress line every 15 s: how long
 * it has run and the last thing it compiled (node-gyp prints a line per object file).
 */
function withProgress(
  what: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    let lines = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter((l) => l.trim() !== '')) {
        lines += 1;
        last = line.trim();
      }
    });
    const timer = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1_000);
      console.log(
        `  ${what}: ${seconds} s, ${lines} lines of output${last === '' ? '' : `, last: ${last.slice(0, 100)}`}`,
      );
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`${what}: ${command} exited with ${String(code)}`));
    });
  });
}

async function crossCompileSqlite(): Promise<string> {
  // Cached outside the clone (about a minute and a half to build), by the Node that builds against it.
  const { version } = JSON.parse(
    readFileSync(join(NODE_MODULES, 'better-sqlite3', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  const cache = join(buildCacheDir(), 'cross', `better-sqlite3-${version}-abi${process.versions.modules}`);
  const out = join(cache, 'better_sqlite3-arm64.node');
  if (existsSync(out)) return out;
  try {
    execFileSync('aarch64-linux-gnu-g++', ['--version'], { stdio: 'ignore' });
  } catch {
    fail(
      'build: aarch64 needs g++-aarch64-linux-gnu (sudo apt-get install -y g++-aarch64-linux-gnu) or --sqlite-arm64 FILE',
    );
  }
  const work = join(cache, 'better-sqlite3');
  rmSync(work, { recursive: true, force: true });
  cpSync(join(NODE_MODULES, 'better-sqlite3'), work, { recursive: true });
  rmSync(join(work, 'build'), { recursive: true, force: true });
  console.log('cross-compiling better-sqlite3 for aarch64 (about a minute and a half)');
  const nodeDir = dirname(dirname(process.execPath));
  await withProgress(
    'cross-compile',
    'npx',
    ['--yes', 'node-gyp@11', 'rebuild', '--release', '--arch=arm64', `--nodedir=${nodeDir}`],
    {
      cwd: work,
      env: {
        ...process.env,
        CC: 'aarch64-linux-gnu-gcc',
        CXX: 'aarch64-linux-gnu-g++',
        LINK: 'aarch64-linux-gnu-g++',
        AR: 'aarch64-linux-gnu-ar',
      },
    },
  );
  cpSync(join(work, 'build', 'Release', 'better_sqlite3.node'), out);
  return out;
}

export interface BuiltArtifact {
  readonly component: string;
  readonly artifact: string;
  readonly platform: Platform;
  readonly zip: string;
  readonly zipBytes: number;
  readonly unpackedBytes: number;
  readonly nativePackages: readonly string[];
}

export async function buildComponents(
  platforms: readonly Platform[],
  outDir: string,
  sqliteArm64?: string,
): Promise<BuiltArtifact[]> {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
  } catch {
    fail('build: needs zip (sudo apt-get install -y zip)');
  }
  const recipesDir = join(ROOT, 'recipes');
  const built: BuiltArtifact[] = [];
  const arm64Sqlite =
    platforms.includes('aarch64') && arch() !== 'arm64'
      ? (sqliteArm64 ?? (await crossCompileSqlite()))
      : undefined;
  for (const file of readdirSync(recipesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const recipe = loadRecipe(join(recipesDir, file));
    for (const manifest of recipe.Manifests)
      for (const a of manifest.Artifacts ?? []) {
        const platform = manifest.Platform?.architecture as Platform | undefined;
        if (!a.URI.endsWith('.zip') || platform === undefined || !platforms.includes(platform)) continue;
        const artifact = basename(a.URI, '.zip');
        const name = componentOfArtifact(artifact);
        const stage = join(outDir, 'stage', artifact);
        rmSync(stage, { recursive: true, force: true });
        mkdirSync(stage, { recursive: true });
        const result = await build({
          ...bundleOptions(join(ROOT, 'components', name, 'src', 'main.ts'), join(stage, 'main.js')),
          // Written beside the bundle without a reference from it, then moved out of the zip.
          sourcemap: 'external',
          sourcesContent: false,
          metafile: true,
        });
        const bundleSha256 = keepSourceMap(stage, (sha256) =>
          sourceMapPath(
            join(outDir, 'sourcemaps'),
            recipe.ComponentName,
            recipe.ComponentVersion,
            artifact,
            sha256,
          ),
        );
        const natives = nativesImported(result.metafile);
        for (const pkg of runtimeClosure(natives)) {
          const dest = join(stage, 'node_modules', pkg);
          cpSync(join(NODE_MODULES, pkg), dest, { recursive: true, dereference: true });
          rmSync(join(dest, 'node_modules'), { recursive: true, force: true });
          prune(dest, pkg, platform, arm64Sqlite);
        }
        // onnxruntime's start-up pages go back to the kernel (shared/src/component/page-out.ts).
        if (wantsPageOut(natives))
          try {
            copyPageOutAddon(stage, NODE_ARCH[platform]);
          } catch (err) {
            fail(`build: ${(err as Error).message}`);
          }
        // What the Install step checks on the gateway (shared/artifact/install-check.js): the Node ABI
        // better-sqlite3 is bound to, and the glibc the native binaries were linked against.
        writeBuildInfo(stage, {
          platform,
          abiBound: natives.includes('better-sqlite3'),
          glibc: requiredGlibc(stage),
          bundleSha256,
        });
        copyFilesBesideBundle(join(ROOT, 'components', name), stage);
        const zip = join(outDir, 'artifacts', `${artifact}.zip`);
        mkdirSync(dirname(zip), { recursive: true });
        rmSync(zip, { force: true });
        execFileSync('zip', ['-qr', '-X', zip, '.'], { cwd: stage });
        console.log(`  built ${artifact}.zip (${built.length + 1})`);
        built.push({
          component: recipe.ComponentName,
          artifact: `${artifact}.zip`,
          platform,
          zip,
          zipBytes: statSync(zip).size,
          unpackedBytes: dirSize(stage),
          nativePackages: natives,
        });
      }
  }
  writeFileSync(join(outDir, 'size-report.json'), `${JSON.stringify(built, null, 2)}\n`);
  // The version the zips were built at: each gdk project's build step refuses zips of another version.
  const versions = [
    ...new Set(
      readdirSync(recipesDir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => loadRecipe(join(recipesDir, f)).ComponentVersion),
    ),
  ];
  writeFileSync(
    join(outDir, 'artifacts', ARTIFACTS_VERSION_FILE),
    `${JSON.stringify({ version: versions.join(',') })}\n`,
  );
  return built;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (n: string): string | undefined => argValue(argv, n);
  const platform = value('--platform') ?? 'all';
  const platforms: Platform[] =
    platform === 'all'
      ? ['amd64', 'aarch64']
      : platform === 'amd64' || platform === 'aarch64'
        ? [platform]
        : fail(`build: unknown platform ${platform}`);
  const out = resolve(value('--out') ?? BUILD_DIR);
  buildComponents(platforms, out, value('--sqlite-arm64'))
    .then((built) => {
      const mb = (n: number): string => (n / 1e6).toFixed(1).padStart(6);
      console.log('component                 platform  zip MB  unpacked MB  native packages');
      for (const b of built)
        console.log(
          `${b.component.padEnd(26)}${b.platform.padEnd(10)}${mb(b.zipBytes)}  ${mb(b.unpackedBytes)}       ${b.nativePackages.join(', ')}`,
        );
      console.log(
        `wrote ${join(out, 'artifacts')}, ${join(out, 'size-report.json')} and the source maps in ${join(out, 'sourcemaps')} (npm run stack)`,
      );
    })
    .catch((err: unknown) => fail(`build: ${err instanceof Error ? err.message : String(err)}`));
}
