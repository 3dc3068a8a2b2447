import { z } from 'zod';
import { cfg } from '../config';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The store's tunables, embedded in each component's configuration schema. Defaults suit a
 * Raspberry Pi with an SD card: FULL sync (a Pi loses power; NORMAL can lose the last commits).
 */
export const storeSettingsSchema = z.strictObject({
  synchronous: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('FULL'),
  busyTimeoutMs: cfg.int((n) => n.min(0).max(60_000)).default(5_000),
  maxStoreBytes: cfg.int((n) => n.min(1 * MiB)).default(512 * MiB),
  /** Eviction frees space down to this share of maxStoreBytes, so it runs in rounds, not per append. */
  evictToRatio: cfg.number((n) => n.gt(0.1).max(0.99)).default(0.9),
  maxRecordBodyBytes: cfg.int((n) => n.min(256).max(96 * KiB)).default(64 * KiB),
  /** Telemetry newer than this is "live" and drains before the backlog. */
  liveWindowMs: cfg.int((n) => n.min(0)).default(60_000),
  /** A read that is not acknowledged or released within this time is handed out again. */
  leaseMs: cfg.int((n) => n.min(100)).default(30_000),
  deadLetters: z
    .strictObject({
      maxEntries: cfg.int((n) => n.min(1)).default(10_000),
      maxRawBytes: cfg.int((n) => n.min(16).max(1 * MiB)).default(4 * KiB),
    })
    .default({ maxEntries: 10_000, maxRawBytes: 4 * KiB }),
  /**
   * SQLite's page cache per connection. better-sqlite3 builds SQLite with a 16 MB default
   * (SQLITE_DEFAULT_CACHE_SIZE=-16000), which each of Buffer, Ingest and Replay fills as the store
   * grows; SQLite's own default is 2 MB. The OS page cache still holds the file's hot pages.
   */
  cacheSizeKiB: cfg.int((n) => n.min(64).max(1024 * 1024)).default(2 * 1024),
  walAutocheckpointPages: cfg.int((n) => n.min(0)).default(1_000),
  journalSizeLimitBytes: cfg.int((n) => n.min(0)).default(64 * MiB),
  /**
   * Kept free on the store's filesystem: the effective quota is the smaller of maxStoreBytes and what
   * the filesystem can still hold less this (at most 5 % of the filesystem), WAL included.
   */
  diskReserveBytes: cfg.int((n) => n.min(0)).default(16 * MiB),
  compaction: z
    .strictObject({
      /** Telemetry older than the live window is compacted into blocks by the store's owner. */
      enabled: cfg.bool().default(true),
      /** A block is written only once this many records can go into it. */
      minBlockRecords: cfg.int((n) => n.min(1)).default(1_000),
      /** A block's payload (an envelope v2) stays under this, so it can be sent as it is. */
      maxBlockBytes: cfg.int((n) => n.min(4 * KiB).max(124 * KiB)).default(120 * KiB),
      /**
       * Records wait for a full block (bigger blocks compress better) at most this long past the live
       * window; then a block of at least minBlockRecords is written.
       */
      maxWaitMs: cfg.int((n) => n.min(0)).default(600_000),
    })
    .default({ enabled: true, minBlockRecords: 1_000, maxBlockBytes: 120 * KiB, maxWaitMs: 600_000 }),
  integrity: z
    .strictObject({
      /** Blocks whose checksums the owner verifies per maintenance round (the background full check). */
      blocksPerRound: cfg.int((n) => n.min(0)).default(16),
    })
    .default({ blocksPerRound: 16 }),
});

export type StoreSettings = z.output<typeof storeSettingsSchema>;

export const defaultStoreSettings: StoreSettings = storeSettingsSchema.parse({});
