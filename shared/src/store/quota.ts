import type Database from 'better-sqlite3';
import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoreSettings } from './settings';

/**
 * The reserve is at most this share of the filesystem (so a small disk still holds a store), and at
 * least MIN_RESERVE_BYTES: room for the WAL to grow by a few transactions when it cannot wrap around.
 */
const MAX_RESERVE_SHARE = 0.05;
const MIN_RESERVE_BYTES = 1024 * 1024;
/** The WAL may take at most this share of the quota before it is checkpointed and truncated. */
export const WAL_SHARE = 1 / 8;

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export interface QuotaView {
  /** The smaller of maxStoreBytes and what the filesystem can still hold less the reserve. */
  readonly limitBytes: number;
  /** Pages in use plus the WAL: what is measured against the limit. */
  readonly usedBytes: number;
  readonly walBytes: number;
  readonly fileBytes: number;
  /** True when the disk, not maxStoreBytes, sets the limit. */
  readonly diskBound: boolean;
}

/**
 * The disk is part of the quota: a store may use what it already has on disk (the data file, free pages
 * included, and the WAL) plus what the filesystem has free, less a reserve.
 */
export function quotaView(target: string, settings: StoreSettings, pagesInUseBytes: number): QuotaView {
  const fileBytes = fileSize(target);
  const walBytes = fileSize(`${target}-wal`);
  let diskLimit = Number.POSITIVE_INFINITY;
  try {
    const fs = statfsSync(dirname(target));
    const reserve = Math.min(
      settings.diskReserveBytes,
      Math.max(MIN_RESERVE_BYTES, fs.blocks * fs.bsize * MAX_RESERVE_SHARE),
    );
    diskLimit = fileBytes + walBytes + fs.bavail * fs.bsize - reserve;
  } catch {
    // statfs unavailable: the configured quota alone
  }
  const limitBytes = Math.max(0, Math.min(settings.maxStoreBytes, diskLimit));
  return {
    limitBytes,
    usedBytes: pagesInUseBytes + walBytes,
    walBytes,
    fileBytes,
    diskBound: diskLimit < settings.maxStoreBytes,
  };
}

export interface StoreQuota extends QuotaView {
  /** What the WAL may take before it is checkpointed and truncated. */
  readonly walAllowanceBytes: number;
  /** What pages in use may take: the limit less the WAL (its allowance, or more while it is larger). */
  readonly pagesLimitBytes: number;
}

/** The WAL's share: of the limit, and no more than its checkpoint thresholds make it grow to. */
function walAllowance(settings: StoreSettings, limitBytes: number, pageSize: number): number {
  return Math.max(
    16 * pageSize,
    Math.min(
      limitBytes * WAL_SHARE,
      settings.journalSizeLimitBytes,
      2 * settings.walAutocheckpointPages * pageSize || Infinity,
    ),
  );
}

export function storeQuota(
  target: string,
  settings: StoreSettings,
  pagesInUseBytes: number,
  pageSize: number,
): StoreQuota {
  const view = quotaView(target, settings, pagesInUseBytes);
  const walAllowanceBytes = walAllowance(settings, view.limitBytes, pageSize);
  return {
    ...view,
    walAllowanceBytes,
    pagesLimitBytes: Math.max(0, view.limitBytes - Math.max(view.walBytes, walAllowanceBytes)),
  };
}

/**
 * The owner checkpoints at the end of every maintenance round, outside any write transaction; its own
 * automatic checkpoint is only a fallback for a WAL that grows between rounds (the round is late, or
 * the handle appends without maintenance), so it waits for up to this many times the followers'
 * threshold, within the WAL's allowance.
 * A commit that triggers the automatic checkpoint runs it before COMMIT returns, so a transaction that
 * otherwise takes milliseconds would hold its caller for the whole checkpoint.
 */
export const OWNER_AUTOCHECKPOINT_FACTOR = 4;

/** Keeps the WAL within its allowance: the checkpoint and truncation thresholds follow the limit. */
export function tuneWal(
  db: Database.Database,
  settings: StoreSettings,
  q: { readonly walAllowanceBytes: number },
  pageSize: number,
  role: 'owner' | 'follower',
): void {
  const pages = Math.max(
    16,
    Math.min(settings.walAutocheckpointPages, Math.floor(q.walAllowanceBytes / 2 / pageSize)),
  );
  // The owner's fallback never lets the WAL pass its allowance (a small disk has a small one).
  const ownerPages = Math.max(
    pages,
    Math.min(pages * OWNER_AUTOCHECKPOINT_FACTOR, Math.floor(q.walAllowanceBytes / pageSize)),
  );
  const threshold = role === 'owner' ? ownerPages : pages;
  db.pragma(`wal_autocheckpoint = ${settings.walAutocheckpointPages === 0 ? 0 : threshold}`);
  db.pragma(`journal_size_limit = ${Math.floor(q.walAllowanceBytes)}`);
}

export interface CheckpointResult {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

/** A passive checkpoint, or a truncating one (when the WAL passed its allowance) that waits only briefly. */
export function checkpoint(
  db: Database.Database,
  mode: 'PASSIVE' | 'TRUNCATE',
  busyTimeoutMs: number,
): CheckpointResult {
  const none = { busy: 0, log: 0, checkpointed: 0 };
  if (mode === 'PASSIVE') return (db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0] ?? none;
  // A truncating checkpoint waits for readers while it holds writers off: wait briefly only.
  db.pragma('busy_timeout = 50');
  try {
    return (db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[])[0] ?? none;
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}
