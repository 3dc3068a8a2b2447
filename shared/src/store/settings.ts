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
  walAutocheckpointPages: cfg.int((n) => n.min(0)).default(1_000),
  journalSizeLimitBytes: cfg.int((n) => n.min(0)).default(64 * MiB),
});

export type StoreSettings = z.output<typeof storeSettingsSchema>;

export const defaultStoreSettings: StoreSettings = storeSettingsSchema.parse({});
