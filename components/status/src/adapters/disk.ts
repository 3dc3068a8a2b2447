import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DiskReading } from '../core/status-model';

/**
 * Free and total space of the filesystem that holds `path` (the store's directory), from statfs. A path
 * that does not exist yet (no store created so far) is measured at its nearest existing parent, which is
 * on the same filesystem unless a mount sits in between. Free means available to an unprivileged user
 * (`bavail`), which is what the store's writes can use.
 */
export function diskUnder(path: string): DiskReading | undefined {
  let p = path;
  for (let i = 0; i < 64; i++) {
    try {
      const s = statfsSync(p);
      return { path: p, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch {
      const parent = dirname(p);
      if (parent === p) return undefined;
      p = parent;
    }
  }
  return undefined;
}
