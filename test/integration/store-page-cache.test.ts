import { join } from 'node:path';
import { SqliteRecordStore, storeSettingsSchema } from '../../shared/src/store';
import { useTempDir } from '../support/temp-dir';

/**
 * Each process's connection to the store holds a page cache that fills as the store is read: Replay
 * reading a backlog grew by it until better-sqlite3's 16 MB default. The store bounds it, on the owner's
 * connection and on every other process's.
 */
describe('store: the page cache of every connection is bounded by cacheSizeKiB', () => {
  const dir = useTempDir();

  it.each<[string, Record<string, unknown>, number]>([
    ['by default, 2 MB', {}, -2048],
    ['as configured', { cacheSizeKiB: 512 }, -512],
  ])('%s', (_, settings, expected) => {
    const path = join(dir(), 'store.db');
    const parsed = storeSettingsSchema.parse(settings);
    const owner = SqliteRecordStore.open({
      path,
      gatewayId: 'gw',
      settings: parsed,
      onCorrupt: 'quarantine',
    });
    const reader = SqliteRecordStore.open({ path, gatewayId: 'gw', settings: parsed, create: false });
    try {
      expect(owner.pragmas()['cache_size']).toBe(expected);
      expect(reader.pragmas()['cache_size']).toBe(expected);
    } finally {
      reader.close();
      owner.close();
    }
  });

  it('refuses a cache too small to hold a page set', () => {
    expect(storeSettingsSchema.safeParse({ cacheSizeKiB: 16 }).success).toBe(false);
  });
});
