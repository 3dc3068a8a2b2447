import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Where a store's files are. The store path (`records.db`) is a symbolic link to the data file, named
 * after the store's epoch (`records.db.<epoch>`). SQLite resolves the link and names the WAL and
 * shared-memory files after the data file, so a file copied or moved over the store path, or a store
 * recreated after damage, never shares a WAL with another database: the failure that corrupts SQLite
 * files replaced under open connections. A note beside the link (`records.db.owner.json`) records the
 * data file's inode; a data file whose inode differs from the note was replaced, and is never opened.
 */
export interface OwnerNote {
  /** The data file's name, beside the link. */
  readonly target: string;
  readonly inode: number;
  readonly epoch: string;
}

export type Resolution =
  /** A vetted data file: open it. */
  | { readonly kind: 'open'; readonly target: string; readonly inode: number }
  /** Nothing at the path. */
  | { readonly kind: 'absent' }
  /** A regular file at the path itself (a store of the older layout, a copy, or garbage). */
  | { readonly kind: 'regular' }
  /** The link points at a data file that is gone or was replaced: the epoch is lost. */
  | { readonly kind: 'lost'; readonly reason: string; readonly epoch?: string; readonly target?: string };

export function notePath(path: string): string {
  return `${path}.owner.json`;
}

export function targetPath(path: string, epoch: string): string {
  return join(dirname(path), `${basename(path)}.${epoch}`);
}

export function readNote(path: string): OwnerNote | null {
  try {
    const note = JSON.parse(readFileSync(notePath(path), 'utf8')) as Partial<OwnerNote>;
    if (typeof note.target === 'string' && typeof note.inode === 'number' && typeof note.epoch === 'string')
      return { target: note.target, inode: note.inode, epoch: note.epoch };
  } catch {
    // absent or unreadable: no note
  }
  return null;
}

/** Writes a file so that a crash leaves either the old or the new contents. */
export function writeFileAtomic(path: string, contents: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, contents);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeNote(path: string, note: OwnerNote): void {
  writeFileAtomic(notePath(path), `${JSON.stringify(note)}\n`);
}

/** Points the store path at `target` atomically (a link made aside, then renamed over the path). */
export function relink(path: string, target: string): void {
  const tmp = `${path}.link-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(basename(target), tmp);
  renameSync(tmp, path);
}

/** Links the store path to `target` only if nothing is there yet; false when another process won. */
export function linkIfAbsent(path: string, target: string): boolean {
  try {
    symlinkSync(basename(target), path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw err;
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** What is at the store path, and whether its data file may be opened. */
export function resolve(path: string): Resolution {
  let link;
  try {
    link = lstatSync(path);
  } catch {
    return { kind: 'absent' };
  }
  if (!link.isSymbolicLink()) return { kind: 'regular' };
  const name = readlinkSync(path);
  const target = join(dirname(path), name);
  const note = readNote(path);
  const epoch = note?.target === name ? note.epoch : undefined;
  const inode = inodeOf(target);
  if (inode === null)
    return {
      kind: 'lost',
      reason: `the data file ${name} is gone`,
      target,
      ...(epoch === undefined ? {} : { epoch }),
    };
  if (note === null || note.target !== name || note.inode !== inode)
    return {
      kind: 'lost',
      reason: `the data file ${name} was replaced by another file`,
      target,
      ...(epoch === undefined ? {} : { epoch }),
    };
  return { kind: 'open', target, inode };
}

/** How an open data file stands: still at its name, the link damaged (data intact), or gone. */
export type FileState = 'ok' | 'link-damaged' | 'gone';

export function fileState(path: string, target: string, inode: number): FileState {
  if (target === path) return inodeOf(path) === inode ? 'ok' : 'gone';
  if (inodeOf(target) !== inode) return 'gone';
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === basename(target)
      ? 'ok'
      : 'link-damaged';
  } catch {
    return 'link-damaged';
  }
}

/**
 * A name beside the store for a file set aside, `<path>.<label>-<suffix>`, that no data file has. (A WAL
 * may already be there under it: one moved first by an interrupted moveAside of the same file.)
 */
export function asideName(path: string, label: string, suffix: string): string {
  let name = `${path}.${label}-${suffix}`;
  for (let n = 1; existsSync(name); n++) name = `${path}.${label}-${suffix}-${n}`;
  return name;
}

/**
 * Moves a database file and its WAL aside, WAL first: a crash in between leaves the data file where it
 * was (found damaged again at the next start) and the WAL under the name its data file will get, so
 * nothing of either is lost. The shared-memory index is rebuilt from the WAL and is removed.
 */
export function moveAside(file: string, to: string): void {
  if (existsSync(`${file}-wal`)) renameSync(`${file}-wal`, `${to}-wal`);
  if (existsSync(file)) renameSync(file, to);
  rmSync(`${file}-shm`, { force: true });
}

export function stamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[:.]/g, '-');
}
