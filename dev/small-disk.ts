import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real small filesystem, for running the store on a disk that fills: a tmpfs of a given size, mounted
 * by root (as CI runs). Writes past its size fail with ENOSPC, exactly as on a full SD card.
 */
export interface SmallDisk {
  readonly path: string;
  unmount(): void;
}

/** Why a small disk cannot be made here, or undefined when it can. */
export function smallDiskUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'a tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return undefined;
}

export function mountSmallDisk(bytes: number, prefix = 'ggdr-tmpfs-'): SmallDisk {
  const path = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    rmSync(path, { recursive: true, force: true });
    throw new Error(`could not mount a ${bytes}-byte tmpfs at ${path}: ${String(err)}`);
  }
  return {
    path,
    unmount: () => {
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
