import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The page-out addon's C source (no Node headers needed: see the file). */
export const PAGE_OUT_SOURCE = join(__dirname, '..', '..', '..', 'native', 'page-out.c');

/** Where the addon sits beside a component's bundle; `shared/src/component/page-out.ts` looks there. */
export const PAGE_OUT_BESIDE_BUNDLE = join('native', 'page-out.node');

export type AddonArch = 'x64' | 'arm64';

/** Build outputs kept between clones (cross-compiled binaries): `EDGEDR_CACHE_DIR`, or ~/.cache/edgedr. */
export function buildCacheDir(): string {
  return process.env['EDGEDR_CACHE_DIR'] ?? join(homedir(), '.cache', 'edgedr');
}

/** The C compiler for a target: the host's own `gcc`, or the Debian cross compiler. */
export function compilerFor(target: AddonArch): { command: string; install: string } {
  if (target === process.arch) return { command: 'gcc', install: 'gcc' };
  return target === 'arm64'
    ? { command: 'aarch64-linux-gnu-gcc', install: 'gcc-aarch64-linux-gnu' }
    : { command: 'x86_64-linux-gnu-gcc', install: 'gcc-x86-64-linux-gnu' };
}

/**
 * Compiles page-out.node for `target` and returns its path, cached outside the clone by the source's hash
 * (a compile takes under a second, but tests and local runs ask for it often). Throws, naming the package
 * to install, when the compiler is missing.
 */
export function buildPageOutAddon(target: AddonArch): string {
  const source = readFileSync(PAGE_OUT_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(buildCacheDir(), 'native');
  const out = join(dir, `page-out-${hash}-${target}.node`);
  if (existsSync(out)) return out;
  const { command, install } = compilerFor(target);
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`page-out.node for ${target} needs ${command} (sudo apt-get install -y ${install})`);
  }
  mkdirSync(dir, { recursive: true });
  // Written under a name of its own, then renamed: parallel builds never see half a file.
  const partial = `${out}.${process.pid}.partial`;
  try {
    execFileSync(command, ['-O2', '-Wall', '-shared', '-fPIC', '-o', partial, PAGE_OUT_SOURCE], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return out;
}
