import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DrError } from '../errors';
import {
  asideName,
  linkIfAbsent,
  moveAside,
  readNote,
  relink,
  resolve,
  stamp,
  targetPath,
  writeNote,
} from './layout';
import { migrate, newEpoch, type MigrationOutcome } from './schema';
import type { StoreSettings } from './settings';
import { isCorruption, storeError } from './sqlite-errors';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export type CorruptionPolicy = 'quarantine' | 'fail';

/** An epoch the owner found lost at open: its data file gone, replaced, or damaged and set aside. */
export interface LostStore {
  readonly reason: string;
  readonly kind: 'damaged' | 'replaced';
  /** The lost store's epoch, when known. */
  readonly epoch?: string;
  /** Where its files were set aside, if anything was left. */
  readonly setAsideTo?: string;
}

export interface OpenedDatabase {
  readonly db: Database.Database;
  readonly migration: MigrationOutcome;
  /** The data file (the store path's link target, or the path itself for a store created elsewhere). */
  readonly target: string;
  readonly inode: number;
  /** Time spent on the integrity check at open (0 when not asked for). */
  readonly integrityCheckMs: number;
  readonly lost?: LostStore;
}

export interface OpenOptions {
  readonly onCorrupt: CorruptionPolicy;
  readonly integrityCheck: boolean;
  readonly nowMs: number;
  /** Create the store when nothing is at the path (the owner always may). */
  readonly create: boolean;
}

function headerProblem(path: string): string | null {
  if (!statSafe(path)) return null; // a new database
  const size = statSync(path).size;
  if (size === 0) return null; // SQLite treats an empty file as a new database.
  if (size < SQLITE_MAGIC.length) return `file of ${size} bytes is too short to be a database`;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    return head.equals(SQLITE_MAGIC) ? null : 'file is not an SQLite database (bad header)';
  } finally {
    closeSync(fd);
  }
}

function applyPragmas(db: Database.Database, settings: StoreSettings): void {
  // Incremental auto-vacuum lets maintenance hand freed pages back to the file system; it only takes
  // effect on a database with no tables yet, so it is set before the first migration.
  db.pragma('auto_vacuum = INCREMENTAL');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal')
    throw new DrError('STORE_IO', `could not switch the store to WAL (got ${String(mode)})`);
  db.pragma(`synchronous = ${settings.synchronous}`);
  db.pragma('temp_store = MEMORY');
  // A negative cache_size is in KiB (sqlite.org/pragma.html#pragma_cache_size).
  db.pragma(`cache_size = -${settings.cacheSizeKiB}`);
  db.pragma(`wal_autocheckpoint = ${settings.walAutocheckpointPages}`);
  db.pragma(`journal_size_limit = ${settings.journalSizeLimitBytes}`);
  db.pragma('foreign_keys = OFF');
}

/**
 * Tables checked at every open of the owner. `quick_check` per table is O(rows of that table): the
 * record rows (the live window and what waits for compaction), the blocks' metadata, and small tables.
 * Block payloads (block_data) are what grows with an outage: their checksums are verified a slice at a
 * time by maintenance (the background full check), so opening costs the same at 100 k as at 17 M records.
 */
const CHECKED_AT_OPEN = ['meta', 'counters', 'records', 'blocks', 'block_acks', 'dead_letters'];

function integrityProblem(db: Database.Database): string | null {
  const tables = new Set(
    db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all(),
  );
  const messages: string[] = [];
  for (const table of CHECKED_AT_OPEN) {
    if (!tables.has(table)) continue;
    // A table name cannot be bound; these are constants.
    const rows = db.pragma(`quick_check(${table})`) as { quick_check: string }[];
    for (const r of rows) if (r.quick_check !== 'ok') messages.push(r.quick_check);
  }
  return messages.length === 0 ? null : `quick_check: ${messages.slice(0, 5).join('; ')}`;
}

function openFile(
  file: string,
  settings: StoreSettings,
  gatewayId: string,
  check: boolean,
  epoch?: string,
): { db: Database.Database; migration: MigrationOutcome; integrityCheckMs: number } {
  const problem = headerProblem(file);
  if (problem !== null) throw new DrError('STORE_CORRUPT', problem, { details: { path: file } });
  const db = new Database(file, { timeout: settings.busyTimeoutMs });
  try {
    applyPragmas(db, settings);
    const started = performance.now();
    if (check) {
      const damage = integrityProblem(db);
      if (damage !== null) throw new DrError('STORE_CORRUPT', damage, { details: { path: file } });
    }
    const integrityCheckMs = performance.now() - started;
    return { db, migration: migrate(db, gatewayId, epoch), integrityCheckMs };
  } catch (err) {
    db.close();
    if (isCorruption(err)) throw new DrError('STORE_CORRUPT', (err as Error).message, { cause: err });
    throw storeError(err, 'open');
  }
}

/**
 * A new store with a new epoch: its data file first, complete, then the link. `replace`: the link is
 * renamed over whatever is at the path (the owner replacing a lost store); otherwise it is made only
 * if the path is free, and null means another process created the store first.
 */
function createStore(
  path: string,
  settings: StoreSettings,
  gatewayId: string,
  replace: boolean,
): Omit<OpenedDatabase, 'lost'> | null {
  const epoch = newEpoch();
  const target = targetPath(path, epoch);
  const { db, migration, integrityCheckMs } = openFile(target, settings, gatewayId, false, epoch);
  const inode = statSync(target).ino;
  if (replace) relink(path, target);
  else if (!linkIfAbsent(path, target)) {
    // Another process created the store first: this empty one was never linked, nor used.
    db.close();
    for (const f of [target, `${target}-wal`, `${target}-shm`]) rmSync(f, { force: true });
    return null;
  }
  writeNote(path, { target: basename(target), inode, epoch });
  return { db, migration, target, inode, integrityCheckMs };
}

function unavailable(path: string, why: string): DrError {
  return new DrError('STORE_UNAVAILABLE', `the store at ${path} is not usable yet: ${why}`, {
    details: { path },
  });
}

/**
 * Opens the store at `path`, creating it when absent (if allowed). With policy `quarantine` (the
 * store's owner, the Buffer), a damaged data file is moved aside with its WAL and a fresh store with
 * a new epoch is created; a data file that is gone or was replaced ends its epoch the same way (the
 * replacing file is moved aside, never opened); a regular file at the path is adopted into the link
 * layout when it is a store, moved aside when it is a copy of one that has its own data file. Every
 * other process uses `fail` and gets STORE_CORRUPT or STORE_UNAVAILABLE (retryable) until the owner
 * has made the store usable.
 */
export function openDatabase(
  path: string,
  settings: StoreSettings,
  gatewayId: string,
  options: OpenOptions,
): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const owner = options.onCorrupt === 'quarantine';
  const fresh = (lost: LostStore): OpenedDatabase => {
    const created = createStore(path, settings, gatewayId, true);
    if (created === null) throw new DrError('INTERNAL', 'replacing the store link failed');
    return { ...created, lost };
  };
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = resolve(path);
    if (r.kind === 'absent') {
      if (!owner && !options.create) throw unavailable(path, 'it does not exist (the owner creates it)');
      const created = createStore(path, settings, gatewayId, false);
      if (created !== null) return created;
      continue; // another process created it meanwhile: open that one
    }
    if (r.kind === 'open') {
      try {
        return {
          ...openFile(r.target, settings, gatewayId, options.integrityCheck),
          target: r.target,
          inode: r.inode,
        };
      } catch (err) {
        if (!(err instanceof DrError && err.code === 'STORE_CORRUPT') || !owner) throw err;
        const epoch = basename(r.target).slice(basename(path).length + 1);
        const to = asideName(path, 'corrupt', epoch);
        moveAside(r.target, to);
        return fresh({ kind: 'damaged', reason: err.message, epoch, setAsideTo: to });
      }
    }
    if (!owner) {
      if (r.kind === 'regular') {
        const problem = headerProblem(path);
        if (problem !== null) throw new DrError('STORE_CORRUPT', problem, { details: { path } });
      }
      throw unavailable(path, r.kind === 'lost' ? r.reason : "it is not in the owner's layout yet");
    }
    if (r.kind === 'lost') {
      let to: string | undefined;
      if (r.target !== undefined) {
        to = asideName(path, 'replaced', stamp(options.nowMs));
        moveAside(r.target, to);
      }
      return fresh({
        kind: 'replaced',
        reason: r.reason,
        ...(r.epoch === undefined ? {} : { epoch: r.epoch }),
        ...(to === undefined ? {} : { setAsideTo: to }),
      });
    }
    // A regular file at the path. When the note names an intact data file, it is an intruder (a copy,
    // a restored backup, garbage): set it aside, never opened, and point the link back.
    const noted = readNote(path);
    if (noted !== null && inodeOf(join(dirname(path), noted.target)) === noted.inode) {
      moveAside(path, asideName(path, 'replaced', stamp(options.nowMs)));
      relink(path, join(dirname(path), noted.target));
      continue;
    }
    // Otherwise a store of the older layout (adopted) or garbage (quarantined).
    let opened: ReturnType<typeof openFile>;
    try {
      opened = openFile(path, settings, gatewayId, options.integrityCheck);
    } catch (err) {
      if (!(err instanceof DrError && err.code === 'STORE_CORRUPT')) throw err;
      const to = asideName(path, 'corrupt', stamp(options.nowMs));
      moveAside(path, to);
      return fresh({ kind: 'damaged', reason: err.message, setAsideTo: to });
    }
    const epoch =
      opened.db.prepare<[], string>("SELECT value FROM meta WHERE key = 'epoch'").pluck().get() ?? '';
    // Closing checkpoints the WAL into the file, so the file alone is the whole store.
    opened.db.close();
    const own = targetPath(path, epoch);
    if (statSafe(own)) {
      // A copy of a store that has its own data file: set it aside and point the link back.
      moveAside(path, asideName(path, 'replaced', stamp(options.nowMs)));
      relink(path, own);
      continue;
    }
    renameSync(path, own);
    writeNote(path, { target: basename(own), inode: statSync(own).ino, epoch });
    linkIfAbsent(path, own);
  }
  throw unavailable(path, 'it kept changing while it was opened');
}

function statSafe(path: string): boolean {
  return inodeOf(path) !== null;
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}
