import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What giving back a library's pages did: its read-only mappings' resident KiB before and after. */
export interface PageOutReport {
  readonly mappings: number;
  readonly residentKiBBefore: number;
  readonly residentKiBAfter: number;
}

interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly residentKiB: number;
}

/** The read-only mappings of files whose path contains `pathPart`, from `/proc/self/smaps`. */
function readOnlyMappings(pathPart: string): Mapping[] {
  const found: Mapping[] = [];
  let current: { start: number; end: number } | null = null;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const [, start, end, perms, path] = header as unknown as [string, string, string, string, string];
      current =
        path.includes(pathPart) && !perms.includes('w')
          ? { start: parseInt(start, 16), end: parseInt(end, 16) }
          : null;
    } else if (current !== null && line.startsWith('Rss:')) {
      found.push({ ...current, residentKiB: Number(line.split(/\s+/)[1]) });
      current = null;
    }
  }
  return found;
}

const sum = (ms: readonly Mapping[]): number => ms.reduce((n, m) => n + m.residentKiB, 0);

/** What is resident now of the read-only mappings of files whose path contains `pathPart`, in KiB. */
export function readOnlyResidentKiB(pathPart: string): number {
  return sum(readOnlyMappings(pathPart));
}

const EINVAL = 22;

/**
 * Gives back to the kernel the resident pages of a native library's read-only mappings (code and
 * constants), through `native/page-out.node` beside the bundle (madvise MADV_PAGEOUT). Meant for once a
 * library's initialisation is over: onnxruntime touches about 17 MB of its code only while it registers
 * its kernels and builds a session, and scoring faults back in about 5 MB. The pages are clean copies of
 * the file, so nothing is lost: what is needed again is read back from it. Pages another process also
 * maps are left alone by the kernel.
 *
 * Returns why not, as a string, when it cannot: no addon beside the bundle, no `/proc`, a kernel before
 * Linux 5.4 (or an emulator that ignores the advice, which then reports no change).
 */
export function pageOutLibrary(
  pathPart: string,
  addonPath: string = join(__dirname, 'native', 'page-out.node'),
): PageOutReport | string {
  if (!existsSync(addonPath)) return `no ${addonPath}`;
  if (!existsSync('/proc/self/smaps')) return 'no /proc/self/smaps';
  const addon = { exports: {} as { pageOut?: (start: number, length: number) => number } };
  try {
    process.dlopen(addon, addonPath);
  } catch (err) {
    return `${addonPath} does not load: ${(err as Error).message}`;
  }
  const pageOut = addon.exports.pageOut;
  if (typeof pageOut !== 'function') return `${addonPath} has no pageOut`;
  const before = readOnlyMappings(pathPart);
  if (before.length === 0) return `no mapping of ${pathPart}`;
  for (const m of before) {
    const errno = pageOut(m.start, m.end - m.start);
    if (errno === EINVAL) return 'the kernel does not take MADV_PAGEOUT (Linux 5.4 or later does)';
    if (errno !== 0) return `madvise failed with errno ${String(errno)}`;
  }
  return {
    mappings: before.length,
    residentKiBBefore: sum(before),
    residentKiBAfter: readOnlyResidentKiB(pathPart),
  };
}
