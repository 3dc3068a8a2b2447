import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isDrError } from '../../shared/src/errors';
import { SqliteRecordStore, type StoreEvent } from '../../shared/src/store';
import { sized } from '../support/records';
import { useTempDir } from '../support/temp-dir';

describe('store corruption', () => {
  const tempDir = useTempDir();

  function openOwner(path: string, events: StoreEvent[]): SqliteRecordStore {
    return SqliteRecordStore.open({
      path,
      gatewayId: 'gw-test',
      onCorrupt: 'quarantine',
      onEvent: (e) => events.push(e),
    });
  }

  function quarantined(dir: string): string[] {
    return readdirSync(dir).filter((f) => f.startsWith('store.db.corrupt-') && !f.endsWith('-wal'));
  }

  it('moves a garbage file aside, keeps it intact, and starts a fresh working store', () => {
    const path = join(tempDir(), 'store.db');
    const garbage = Buffer.from('this was never a database\n'.repeat(200));
    writeFileSync(path, garbage);
    const events: StoreEvent[] = [];
    const store = openOwner(path, events);
    try {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'recreated', code: 'STORE_RECREATED', path });
      expect(events[0]?.type === 'recreated' ? events[0].reason : '').toMatch(/header/);
      const [moved] = quarantined(tempDir());
      expect(moved).toBeDefined();
      expect(readFileSync(join(tempDir(), moved ?? '')).equals(garbage)).toBe(true);
      const ids = store.append([sized('telemetry', 1, 1, 100)]).ids;
      expect(store.nextBatch({ maxRecords: 5, maxBytes: 1e6 }).map((r) => r.id)).toEqual(ids);
    } finally {
      store.close();
    }
  });

  it('quarantines a truncated database and reports it', () => {
    const path = join(tempDir(), 'store.db');
    const first = openOwner(path, []);
    const oldEpoch = first.epoch;
    for (let i = 0; i < 20; i++)
      first.append(Array.from({ length: 200 }, (_, j) => sized('telemetry', i, j, 400)));
    first.close(); // checkpoints the WAL into the main file
    expect(existsSync(`${path}-wal`)).toBe(false);
    truncateSync(path, Math.floor(statSync(path).size / 2));

    const events: StoreEvent[] = [];
    const store = openOwner(path, events);
    try {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'recreated', code: 'STORE_RECREATED' });
      expect(quarantined(tempDir())).toHaveLength(1);
      // A new epoch: ids of the fresh store never repeat those of the lost one.
      expect(store.epoch).not.toBe(oldEpoch);
      expect(store.metrics().lanes.telemetry.depth).toBe(0);
    } finally {
      store.close();
    }
  });

  it('lets a non-owner fail with STORE_CORRUPT instead of moving the file', () => {
    const path = join(tempDir(), 'store.db');
    writeFileSync(path, Buffer.alloc(8192, 0xab));
    try {
      SqliteRecordStore.open({ path, gatewayId: 'gw-test' }).close();
      throw new Error('opened a corrupt store');
    } catch (err) {
      expect(isDrError(err, 'STORE_CORRUPT')).toBe(true);
    }
    expect(quarantined(tempDir())).toHaveLength(0);
  });

  it('tells an open handle that its file was replaced by the owner', () => {
    const path = join(tempDir(), 'store.db');
    const reader = SqliteRecordStore.open({ path, gatewayId: 'gw-test' });
    try {
      expect(reader.fileReplaced()).toBe(false);
      // The file is damaged under the open handle (here: overwritten in place by a new file)...
      renameSync(path, `${path}.old`);
      writeFileSync(path, 'garbage garbage garbage garbage');
      // ...and the owner quarantines it and creates a fresh store at the same path.
      openOwner(path, []).close();
      expect(reader.fileReplaced()).toBe(true);
    } finally {
      reader.close();
    }
  });
});
