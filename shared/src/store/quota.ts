import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoreSettings } from './settings';

/** The reserve is at most this share of the filesystem, so a small disk still holds a store. */
const MAX_RESERVE_SHARE = 0.05;
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
    const reserve = Math.min(settings.diskReserveBytes, fs.blocks * fs.bsize * MAX_RESERVE_SHARE);
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
