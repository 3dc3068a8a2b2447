import { join } from 'node:path';
import { ManualClock } from '../../shared/src/clock';
import { parseRecordId } from '../../shared/src/record';
import {
  GAP_MARKER_STREAM,
  RELEASED_UNITS_KEPT,
  SqliteRecordStore,
  storeSettingsSchema,
  type RecordStore,
  type StoreEvent,
  type StoredRecord,
} from '../../shared/src/store';
import { decodeEnvelope } from '../../shared/src/envelope';
import { alert, readings, sized, telemetry } from '../support/records';
import { useTempDir } from '../support/temp-dir';
import { thrownBy } from '../support/thrown';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

interface Harness {
  store: RecordStore;
  clock: ManualClock;
  events: StoreEvent[];
  reopen: () => RecordStore;
}

/**
 * The behaviour every RecordStore must show. Run against the SQLite store on real files; another
 * implementation would be added by calling this with its own factory.
 */
function recordStoreContract(
  name: string,
  make: (
    dir: string,
    clock: ManualClock,
    events: StoreEvent[],
    settings: Record<string, unknown>,
  ) => RecordStore,
): void {
  describe(`RecordStore contract: ${name}`, () => {
    const tempDir = useTempDir();
    const open: RecordStore[] = [];
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
    });

    function harness(settings: Record<string, unknown> = {}): Harness {
      const clock = new ManualClock(T0);
      const events: StoreEvent[] = [];
      const store = make(tempDir(), clock, events, settings);
      open.push(store);
      return {
        store,
        clock,
        events,
        reopen: () => {
          const s = make(tempDir(), clock, events, settings);
          open.push(s);
          return s;
        },
      };
    }

    it('assigns unique, increasing ids that carry the gateway and store epoch', () => {
      const { store } = harness();
      const a = store.append([telemetry(T0, 1), telemetry(T0, 2)]);
      const b = store.append([telemetry(T0, 3)]);
      const ids = [...a.ids, ...b.ids];
      expect(new Set(ids).size).toBe(3);
      const seqs = ids.map((id) => parseRecordId(id)?.seq ?? -1);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      for (const id of ids) expect(id.startsWith(`gw-test:${store.epoch}:`)).toBe(true);
    });

    it('returns a record exactly as it was appended', () => {
      const { store } = harness();
      const input = {
        stream: 'pump/flow',
        lane: 'telemetry' as const,
        deviceId: 'pump-7',
        tsMs: T0 - 5,
        body: { flowLpm: 31.25, ok: true, tags: ['a', 'b'], nested: { x: null } },
      };
      const [id] = store.append([input]).ids;
      const [got] = store.nextBatch({ maxRecords: 10, maxBytes: 1e6 });
      expect(got).toMatchObject({ ...input, id });
    });

    it('drains alerts first, then live telemetry, then the backlog oldest-first', () => {
      const { store } = harness({ liveWindowMs: 60_000 });
      store.append([
        telemetry(T0 - 3_600_000, 1), // backlog, older
        telemetry(T0 - 10_000, 2), // live
        telemetry(T0 - 7_200_000, 3), // backlog, oldest
        telemetry(T0 - 1_000, 4), // live, newest
      ]);
      store.append([alert(T0 - 5_000_000, 5)]);
      const batch = store.nextBatch({ maxRecords: 10, maxBytes: 1e6 });
      expect(batch.map((r) => r.body['n'])).toEqual([5, 2, 4, 3, 1]);
    });

    it('moves telemetry from live to backlog as time passes', () => {
      const { store, clock } = harness({ liveWindowMs: 60_000 });
      store.append([telemetry(T0 - 30_000, 1)]);
      expect(store.metrics().liveTelemetryDepth).toBe(1);
      clock.advance(60_000);
      expect(store.metrics().liveTelemetryDepth).toBe(0);
      store.append([telemetry(clock.nowMs(), 2)]);
      expect(store.nextBatch({ maxRecords: 10, maxBytes: 1e6 }).map((r) => r.body['n'])).toEqual([2, 1]);
    });

    it('bounds a batch by record count and by bytes, but always returns at least one record', () => {
      const { store } = harness();
      store.append(Array.from({ length: 20 }, (_, i) => sized('telemetry', T0 - 100_000 + i, i, 1000)));
      const byCount = store.nextBatch({ maxRecords: 5, maxBytes: 1e6 });
      expect(byCount).toHaveLength(5);
      const byBytes = store.nextBatch({ maxRecords: 100, maxBytes: 3500 });
      expect(byBytes.length).toBeGreaterThanOrEqual(2);
      expect(byBytes.reduce((n, r) => n + r.sizeBytes, 0)).toBeLessThanOrEqual(3500);
      const tiny = store.nextBatch({ maxRecords: 100, maxBytes: 10 });
      expect(tiny).toHaveLength(1);
    });

    it('does not hand out the same record twice while it is leased', () => {
      const { store } = harness();
      store.append(Array.from({ length: 10 }, (_, i) => telemetry(T0 - 100_000 + i, i)));
      const first = store.nextBatch({ maxRecords: 4, maxBytes: 1e6 });
      const second = store.nextBatch({ maxRecords: 4, maxBytes: 1e6 });
      expect(first.map((r) => r.body['n'])).toEqual([0, 1, 2, 3]);
      expect(second.map((r) => r.body['n'])).toEqual([4, 5, 6, 7]);
    });

    it('deletes acknowledged records and never returns them again', () => {
      const { store, clock } = harness({ leaseMs: 1_000 });
      store.append(Array.from({ length: 6 }, (_, i) => telemetry(T0 - 100_000 + i, i)));
      const batch = store.nextBatch({ maxRecords: 3, maxBytes: 1e6 });
      expect(store.ack(batch.map((r) => r.id))).toEqual({ acknowledged: 3, notFound: [] });
      // Acknowledging twice is harmless and says so.
      expect(store.ack(batch.map((r) => r.id))).toEqual({
        acknowledged: 0,
        notFound: batch.map((r) => r.id),
      });
      clock.advance(5_000);
      const rest = store.nextBatch({ maxRecords: 10, maxBytes: 1e6 });
      expect(rest.map((r) => r.body['n'])).toEqual([3, 4, 5]);
      expect(store.metrics().acknowledgedTotal).toBe(3);
    });

    it('hands out again a read that is never acknowledged, after the lease or on release', () => {
      const { store, clock } = harness({ leaseMs: 1_000 });
      store.append(Array.from({ length: 4 }, (_, i) => telemetry(T0 - 100_000 + i, i)));
      const first = store.nextBatch({ maxRecords: 2, maxBytes: 1e6 });
      clock.advance(999);
      expect(store.nextBatch({ maxRecords: 10, maxBytes: 1e6 }).map((r) => r.body['n'])).toEqual([2, 3]);
      clock.advance(1);
      expect(store.nextBatch({ maxRecords: 10, maxBytes: 1e6 }).map((r) => r.id)).toEqual(
        first.map((r) => r.id),
      );
      store.release(first.map((r) => r.id));
      expect(store.nextBatch({ maxRecords: 10, maxBytes: 1e6 }).map((r) => r.id)).toEqual(
        first.map((r) => r.id),
      );
    });

    it('hands unacknowledged records to a new handle (a restarted reader)', () => {
      const { store, reopen } = harness();
      store.append([telemetry(T0 - 100_000, 1), telemetry(T0 - 99_000, 2)]);
      const read = store.nextBatch({ maxRecords: 10, maxBytes: 1e6 });
      store.close();
      const again = reopen().nextBatch({ maxRecords: 10, maxBytes: 1e6 });
      expect(again.map((r) => r.id)).toEqual(read.map((r) => r.id));
    });

    it('ignores ids of another store and malformed ids on ack', () => {
      const { store } = harness();
      const [id] = store.append([telemetry(T0, 1)]).ids;
      const seq = parseRecordId(id ?? '')?.seq ?? 0;
      const foreign = [`gw-test:ffffffff:${seq}`, 'nonsense', '', `${id}x`];
      expect(store.ack(foreign)).toEqual({ acknowledged: 0, notFound: foreign });
      expect(store.metrics().lanes.telemetry.depth).toBe(1);
    });

    it('rejects a whole append with a clear code when one record is invalid or too large', () => {
      const { store } = harness({ maxRecordBodyBytes: 1024 });
      const tooBig = sized('telemetry', T0, 2, 4096);
      expect(thrownBy(() => store.append([telemetry(T0, 1), tooBig]))).toMatchObject({
        code: 'RECORD_TOO_LARGE',
      });
      const badTs = { ...telemetry(T0, 3), tsMs: 1.5 };
      expect(thrownBy(() => store.append([badTs]))).toMatchObject({ code: 'RECORD_INVALID' });
      expect(store.metrics().lanes.telemetry.depth).toBe(0);
    });

    it('keeps dead letters with bounded raw bytes, counts them by reason, and caps the table', () => {
      const { store } = harness({ deadLetters: { maxEntries: 5, maxRawBytes: 16 } });
      const raw = Buffer.from('{"not": "closed'.padEnd(100, '.'));
      store.deadLetter([
        { source: 'sensors/pump-1', reason: 'not_json', detail: 'Unexpected end of JSON', raw },
      ]);
      for (let i = 0; i < 9; i++) {
        store.deadLetter([
          { source: 'sensors/pump-2', reason: 'schema', detail: `field ${i}`, raw: Buffer.from([i]) },
        ]);
      }
      const m = store.metrics();
      expect(m.deadLettersTotal).toBe(10);
      expect(m.deadLettersStored).toBe(5);
      expect(m.deadLettersDroppedTotal).toBe(5);
      expect(m.deadLettersByReason).toEqual({ not_json: 1, schema: 9 });
      const kept = store.listDeadLetters(100);
      expect(kept).toHaveLength(5);
      expect(kept.map((d) => d.detail)).toEqual(['field 4', 'field 5', 'field 6', 'field 7', 'field 8']);
      expect(kept[0]).toMatchObject({ source: 'sensors/pump-2', reason: 'schema', atMs: T0, rawBytes: 1 });
    });

    it('truncates a dead letter raw copy but records the full length', () => {
      const { store } = harness({ deadLetters: { maxEntries: 5, maxRawBytes: 16 } });
      const raw = Buffer.alloc(100, 0x41);
      store.deadLetter([{ source: 's', reason: 'oversize', detail: 'too big', raw }]);
      const [d] = store.listDeadLetters(1);
      expect(d?.raw.length).toBe(16);
      expect(d?.rawBytes).toBe(100);
    });

    it('stays under the quota by evicting the oldest telemetry first and writes one gap marker per round', () => {
      const { store, events } = harness({ maxStoreBytes: 2 * MiB, evictToRatio: 0.8 });
      const alerts = store.append([alert(T0 - 10_000_000, -1)]).ids;
      let n = 0;
      for (let round = 0; round < 60; round++) {
        store.append(
          Array.from({ length: 50 }, () => sized('telemetry', T0 - 5_000_000 + n * 10, n++, 1000)),
        );
      }
      const m = store.metrics();
      expect(m.usedBytes).toBeLessThanOrEqual(2 * MiB);
      expect(m.evictionRoundsTotal).toBeGreaterThan(0);
      const evictions = events.flatMap((e) => (e.type === 'eviction' ? [e.report] : []));
      expect(evictions).toHaveLength(m.evictionRoundsTotal);
      const evictedSum = evictions.reduce((s, r) => s + r.evictedRecords, 0);
      expect(evictedSum).toBe(m.evictedRecordsTotal);
      // Nothing silent: appended = remaining telemetry + evicted.
      expect(m.lanes.telemetry.depth + m.evictedRecordsTotal).toBe(n);
      // The old alert survived; telemetry went first.
      const batch = store.nextBatch({ maxRecords: 100_000, maxBytes: 1e9 });
      expect(batch.some((r) => r.id === alerts[0])).toBe(true);
      const markers = batch.filter((r) => r.stream === GAP_MARKER_STREAM);
      expect(markers).toHaveLength(m.evictionRoundsTotal);
      expect(markers.every((r) => r.lane === 'alert')).toBe(true);
      // The survivors are the newest telemetry: every evicted record is older than every survivor.
      const survivors = batch.filter((r) => r.lane === 'telemetry').map((r) => r.tsMs);
      const newestEvicted = Math.max(...evictions.map((r) => r.toTsMs));
      expect(Math.min(...survivors)).toBeGreaterThan(newestEvicted);
      const first = markers[0]?.body as Record<string, unknown>;
      expect(first).toMatchObject({ kind: 'gap', reason: 'quota' });
      expect(first['streams']).toHaveProperty(['telemetry:pump/vibration', 'records']);
    });

    it('evicts alerts last, folding evicted gap markers into the new one', () => {
      const { store } = harness({ maxStoreBytes: 1 * MiB, evictToRatio: 0.5 });
      let n = 0;
      for (let round = 0; round < 40; round++) {
        store.append(Array.from({ length: 20 }, () => sized('alert', T0 + n, n++, 2000, 'anomaly')));
      }
      const m = store.metrics();
      expect(m.usedBytes).toBeLessThanOrEqual(1 * MiB);
      const remainingAlerts = m.lanes.alert.depth;
      const batch = store.nextBatch({ maxRecords: 100_000, maxBytes: 1e9 });
      const markers = batch.filter((r) => r.stream === GAP_MARKER_STREAM);
      const anomalies = batch.filter((r) => r.stream === 'anomaly');
      expect(markers.length + anomalies.length).toBe(remainingAlerts);
      // Every anomaly appended is either still stored or counted in a surviving marker.
      const counted = markers.reduce((s, r) => {
        const streams = r.body['streams'] as Record<string, { records: number }>;
        return s + (streams['alert:anomaly']?.records ?? 0);
      }, 0);
      expect(anomalies.length + counted).toBe(n);
    });

    it('reports depth, bytes and oldest age per lane', () => {
      const { store, clock } = harness();
      store.append([telemetry(T0 - 50_000, 1), telemetry(T0 - 20_000, 2), alert(T0 - 1_000, 3)]);
      clock.advance(1_000);
      const m = store.metrics();
      expect(m.lanes.telemetry).toMatchObject({ depth: 2, oldestTsMs: T0 - 50_000, oldestAgeMs: 51_000 });
      expect(m.lanes.alert).toMatchObject({ depth: 1, oldestAgeMs: 2_000 });
      expect(m.lanes.telemetry.bytes).toBeGreaterThan(0);
      expect(m.appendedTotal).toBe(3);
      expect(m.fileBytes + m.walBytes).toBeGreaterThan(0);
    });

    it('keeps its records, counters and epoch across close and reopen', () => {
      const { store, reopen } = harness();
      const ids = store.append([telemetry(T0, 1), alert(T0, 2)]).ids;
      store.deadLetter([{ source: 's', reason: 'schema', detail: 'd', raw: Buffer.from('x') }]);
      const epoch = store.epoch;
      store.close();
      const again = reopen();
      expect(again.epoch).toBe(epoch);
      expect(
        again
          .nextBatch({ maxRecords: 10, maxBytes: 1e6 })
          .map((r) => r.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect(again.metrics()).toMatchObject({ appendedTotal: 2, deadLettersTotal: 1 });
    });

    it('refuses use after close with STORE_CLOSED', () => {
      const { store } = harness();
      store.close();
      expect(thrownBy(() => store.metrics())).toMatchObject({ code: 'STORE_CLOSED' });
    });

    /** Compaction settings that make several small blocks out of a few thousand readings. */
    const SMALL_BLOCKS = { compaction: { minBlockRecords: 100, maxBlockBytes: 4 * 1024 } };

    function compactAll(store: RecordStore): void {
      for (let i = 0; i < 1_000 && store.maintain().more; i++);
    }

    function drainAll(store: RecordStore): StoredRecord[] {
      return store.nextBatch({ maxRecords: 1_000_000, maxBytes: 1e12 });
    }

    it('compacts telemetry older than the live window into blocks, keeping ids, order, lanes and contents', () => {
      const { store } = harness({ ...SMALL_BLOCKS, liveWindowMs: 60_000 });
      const old = store.append(readings(3_000, T0 - 7_200_000)).ids;
      const alertIds = store.append([alert(T0 - 5_000_000, -1)]).ids;
      const live = store.append(readings(20, T0 - 10_000, 4, 10_000)).ids;
      const before = drainAll(store);
      store.release(before.map((r) => r.id));
      compactAll(store);
      const m = store.metrics();
      expect(m.blocks).toBeGreaterThan(3);
      expect(m.recordsInBlocks).toBe(3_000);
      expect(m.compactedRecordsTotal).toBe(3_000);
      expect(m.lanes.telemetry.depth).toBe(3_020);
      expect(m.lanes.telemetry.oldestTsMs).toBe(T0 - 7_200_000);
      const after = drainAll(store);
      // The same records, the same order: alerts, live telemetry, then the backlog oldest-first.
      expect(after).toEqual(before.map((r) => ({ ...r, sizeBytes: expect.any(Number) as number })));
      expect(after.map((r) => r.id)).toEqual([...alertIds, ...live, ...old]);
      expect(new Set(after.map((r) => r.id)).size).toBe(after.length);
    });

    it('acknowledges records inside blocks one by one, deletes a block with its last record, and keeps counters in step', () => {
      const { store, clock } = harness({ ...SMALL_BLOCKS, leaseMs: 1_000 });
      const ids = store.append(readings(2_000, T0 - 7_200_000)).ids;
      compactAll(store);
      const blocks = store.metrics().blocks;
      const batch = store.nextBatch({ maxRecords: 900, maxBytes: 1e12 });
      expect(batch.map((r) => r.id)).toEqual(ids.slice(0, 900));
      expect(store.ack(batch.map((r) => r.id))).toEqual({ acknowledged: 900, notFound: [] });
      expect(store.ack(batch.slice(0, 3).map((r) => r.id))).toEqual({
        acknowledged: 0,
        notFound: batch.slice(0, 3).map((r) => r.id),
      });
      clock.advance(2_000);
      const m = store.metrics();
      expect(m.lanes.telemetry.depth).toBe(1_100);
      expect(m.recordsInBlocks).toBe(1_100);
      expect(m.acknowledgedTotal).toBe(900);
      expect(m.blocks).toBeLessThan(blocks);
      const rest = drainAll(store);
      expect(rest.map((r) => r.id)).toEqual(ids.slice(900));
      store.ack(rest.map((r) => r.id));
      expect(store.metrics()).toMatchObject({
        blocks: 0,
        recordsInBlocks: 0,
        lanes: { telemetry: { depth: 0, bytes: 0 } },
      });
    });

    it('hands out ready envelopes: blocks as stored, deleted exactly once by their acknowledgement', () => {
      const { store, clock } = harness({ ...SMALL_BLOCKS, leaseMs: 1_000 });
      const ids = store.append(readings(2_000, T0 - 7_200_000)).ids;
      compactAll(store);
      const live = store.append(readings(10, T0 - 1_000, 2, 5_000)).ids;
      const request = { maxEnvelopes: 100, maxEnvelopeBytes: 16 * 1024 };
      const units = store.nextEnvelopes(request);
      // Live records first (packed for this read), then the blocks, each sent as it is stored.
      expect(units[0]).toMatchObject({ source: 'records', count: 10 });
      const blocks = units.filter((u) => u.source === 'block');
      expect(blocks.length).toBe(store.metrics().blocks);
      const carried = units.flatMap((u) => decodeEnvelope(u.envelope.payload).records.map((r) => r.id));
      expect(carried).toEqual([...live, ...ids]);
      for (const u of blocks) expect(u.envelope.header).toMatchObject({ v: 2, count: u.count });
      // Leased: a second read gets nothing until they are released or the lease expires.
      expect(store.nextEnvelopes(request)).toEqual([]);
      store.releaseEnvelopes(units.slice(1).map((u) => u.unitId));
      const again = store.nextEnvelopes(request);
      expect(again.map((u) => u.envelope.header.batchId)).toEqual(
        units.slice(1).map((u) => u.envelope.header.batchId),
      );
      const acked = store.ackEnvelopes([units[0]?.unitId ?? '', ...again.map((u) => u.unitId)]);
      expect(acked).toEqual({ acknowledged: 2_010, missing: 0, unknownUnits: [] });
      expect(store.ackEnvelopes(again.map((u) => u.unitId)).unknownUnits).toHaveLength(again.length);
      clock.advance(5_000);
      expect(store.nextEnvelopes(request)).toEqual([]);
      expect(store.metrics()).toMatchObject({
        acknowledgedTotal: 2_010,
        blocks: 0,
        lanes: { telemetry: { depth: 0 } },
      });
    });

    it('deletes what a unit given back carried when its acknowledgement comes after all, once', () => {
      const { store, clock } = harness({ ...SMALL_BLOCKS, leaseMs: 1_000 });
      store.append(readings(2_000, T0 - 7_200_000));
      compactAll(store);
      store.append(readings(10, T0 - 1_000, 2, 5_000));
      const request = { maxEnvelopes: 100, maxEnvelopeBytes: 16 * 1024 };
      // Given back (a region judged lost), handed out again, and then the first sends' PUBACKs arrive.
      const first = store.nextEnvelopes(request);
      expect(new Set(first.map((u) => u.source))).toEqual(new Set(['records', 'block']));
      store.releaseEnvelopes(first.map((u) => u.unitId));
      const again = store.nextEnvelopes(request);
      expect(again.map((u) => u.count)).toEqual(first.map((u) => u.count));
      expect(store.ackEnvelopes(first.map((u) => u.unitId))).toEqual({
        acknowledged: 2_010,
        missing: 0,
        unknownUnits: [],
      });
      // The copies' PUBACKs find nothing left to delete, and nothing is counted twice.
      expect(store.ackEnvelopes(again.map((u) => u.unitId))).toEqual({
        acknowledged: 0,
        missing: 2_010,
        unknownUnits: [],
      });
      expect(store.ackEnvelopes(first.map((u) => u.unitId)).unknownUnits).toHaveLength(first.length);
      clock.advance(5_000);
      expect(store.nextEnvelopes(request)).toEqual([]);
      expect(store.metrics()).toMatchObject({
        acknowledgedTotal: 2_010,
        blocks: 0,
        lanes: { telemetry: { depth: 0, bytes: 0 } },
      });

      // Given back and acknowledged before anything else read it: nothing is sent again.
      store.append(readings(30, T0 - 1_000, 2, 9_000));
      const live = store.nextEnvelopes(request);
      store.releaseEnvelopes(live.map((u) => u.unitId));
      expect(store.ackEnvelopes(live.map((u) => u.unitId)).acknowledged).toBe(30);
      expect(store.nextEnvelopes(request)).toEqual([]);

      // Only the newest given-back units are remembered (here one record, given back again and again).
      store.append(readings(1, T0 - 1_000, 2, 20_000));
      const many = Array.from({ length: RELEASED_UNITS_KEPT + 1 }, () => {
        const [u] = store.nextEnvelopes(request);
        store.releaseEnvelopes([u!.unitId]);
        return u!;
      });
      expect(many.every((u) => u.count === 1)).toBe(true);
      expect(store.ackEnvelopes([many[0]!.unitId]).unknownUnits).toEqual([many[0]!.unitId]);
      expect(store.ackEnvelopes([many[1]!.unitId]).acknowledged).toBe(1);
    });

    it('re-encodes a block that is partly acknowledged, and serves v1 when asked', () => {
      const { store } = harness({ ...SMALL_BLOCKS });
      const ids = store.append(readings(1_000, T0 - 7_200_000)).ids;
      compactAll(store);
      const first = store.nextBatch({ maxRecords: 5, maxBytes: 1e12 });
      store.ack(first.map((r) => r.id));
      const v1 = store.nextEnvelopes({ maxEnvelopes: 1_000, maxEnvelopeBytes: 64 * 1024, version: 1 });
      expect(v1.every((u) => u.source === 'records' && u.envelope.header.v === 1)).toBe(true);
      expect(v1.flatMap((u) => decodeEnvelope(u.envelope.payload).records.map((r) => r.id))).toEqual(
        ids.slice(5),
      );
      store.releaseEnvelopes(v1.map((u) => u.unitId));
      const v2 = store.nextEnvelopes({ maxEnvelopes: 1_000, maxEnvelopeBytes: 64 * 1024 });
      expect(v2[0]?.source).toBe('records'); // the partly acknowledged block, re-encoded without the 5
      expect(v2.flatMap((u) => decodeEnvelope(u.envelope.payload).records.map((r) => r.id))).toEqual(
        ids.slice(5),
      );
      expect(store.ackEnvelopes(v2.map((u) => u.unitId)).acknowledged).toBe(995);
    });

    it('evicts whole blocks oldest-first over the quota, naming exactly what went in gap markers', () => {
      const { store, events } = harness({ ...SMALL_BLOCKS, maxStoreBytes: 1 * MiB, evictToRatio: 0.8 });
      let n = 0;
      const appended: number[] = [];
      for (let round = 0; round < 80; round++) {
        const batch = readings(500, T0 - 11_000_000 + round * 130_000, 4, n).map((r) => ({
          ...r,
          body: {
            ...r.body,
            tag: `${(Math.abs(Math.sin(r.tsMs)) * 1e17).toString(36)}${(Math.abs(Math.cos(r.tsMs)) * 1e17).toString(36)}`,
          },
        }));
        appended.push(...batch.map((r) => Number((r.body as Record<string, unknown>)['n'])));
        n += 500;
        store.append(batch);
        compactAll(store);
      }
      const m = store.metrics();
      expect(m.blocks).toBeGreaterThan(0);
      expect(m.evictionRoundsTotal).toBeGreaterThan(0);
      expect(m.usedBytes).toBeLessThanOrEqual(1 * MiB);
      const evictions = events.flatMap((e) => (e.type === 'eviction' ? [e.report] : []));
      expect(evictions.reduce((s, r) => s + r.evictedRecords, 0)).toBe(m.evictedRecordsTotal);
      const all = drainAll(store);
      const survivors = all.filter((r) => r.lane === 'telemetry');
      const markers = all.filter((r) => r.stream === GAP_MARKER_STREAM);
      // Nothing silent: every reading survived or is counted by a marker; the survivors are the newest.
      const counted = markers.reduce(
        (s, r) =>
          s +
          ((r.body['streams'] as Record<string, { records: number }>)['telemetry:telemetry']?.records ?? 0),
        0,
      );
      expect(survivors.length + counted).toBe(appended.length);
      expect(m.lanes.telemetry.depth).toBe(survivors.length);
      const newestEvicted = Math.max(...evictions.map((r) => r.toTsMs));
      expect(Math.min(...survivors.map((r) => r.tsMs))).toBeGreaterThan(newestEvicted);
    });

    it('names in its gap markers only what a partly acknowledged block still held when it is evicted', () => {
      const { store } = harness({ ...SMALL_BLOCKS, maxStoreBytes: 1 * MiB, evictToRatio: 0.8 });
      let n = 0;
      let acked = 0;
      let evicted = false;
      for (let round = 0; round < 120 && !evicted; round++) {
        const batch = readings(500, T0 - 16_000_000 + round * 130_000, 4, n).map((r) => ({
          ...r,
          body: { ...r.body, tag: `${(Math.abs(Math.sin(r.tsMs)) * 1e17).toString(36)}` },
        }));
        n += 500;
        store.append(batch);
        compactAll(store);
        if (round === 3) {
          // Acknowledge every third record of the oldest backlog, inside its blocks.
          const read = store.nextBatch({ maxRecords: 1_200, maxBytes: 1e12 });
          const some = read.filter((_, i) => i % 3 === 0).map((r) => r.id);
          store.ack(some);
          acked = some.length;
          store.release(read.map((r) => r.id));
          expect(store.metrics().blocks).toBeGreaterThan(1);
        }
        evicted = store.metrics().evictedRecordsTotal > 2_000;
      }
      expect(evicted).toBe(true);
      const all = drainAll(store);
      const survivors = all.filter((r) => r.lane === 'telemetry');
      const counted = all
        .filter((r) => r.stream === GAP_MARKER_STREAM)
        .reduce(
          (s, r) =>
            s +
            ((r.body['streams'] as Record<string, { records: number }>)['telemetry:telemetry']?.records ?? 0),
          0,
        );
      // Exact: an acknowledged record is neither a survivor nor named as lost.
      expect(survivors.length + counted + acked).toBe(n);
      expect(counted).toBe(store.metrics().evictedRecordsTotal);
    });

    it('keeps its counters in step with what it holds through appends, compaction, acks and evictions', () => {
      const { store, clock } = harness({ ...SMALL_BLOCKS, maxStoreBytes: 2 * MiB, leaseMs: 1_000 });
      let n = 0;
      for (let round = 0; round < 40; round++) {
        store.append(readings(300, T0 - 9_000_000 + round * 100_000, 3, n));
        n += 300;
        if (round % 3 === 0) store.append([alert(T0 - 1_000, n++)]);
        compactAll(store);
        const batch = store.nextBatch({ maxRecords: 150 + (round % 4) * 50, maxBytes: 1e12 });
        store.ack(batch.filter((_, i) => i % 3 !== 0).map((r) => r.id));
        store.release(batch.map((r) => r.id));
        clock.advance(2_000);
      }
      const m = store.metrics();
      const held = drainAll(store);
      for (const lane of ['alert', 'telemetry'] as const) {
        const mine = held.filter((r) => r.lane === lane);
        expect(m.lanes[lane].depth).toBe(mine.length);
      }
      expect(m.appendedTotal).toBe(n);
    });

    it('runs maintenance: quota, checkpoint, vacuum', () => {
      const { store } = harness();
      const ids = store.append(Array.from({ length: 2000 }, (_, i) => sized('telemetry', T0, i, 500))).ids;
      store.ack(ids);
      const report = store.maintain();
      expect(report.busy).toBe(false);
      expect(report.vacuumedPages).toBeGreaterThan(0);
      expect(report.eviction).toBeNull();
    });
  });
}

recordStoreContract('SqliteRecordStore', (dir, clock, events, settings) =>
  SqliteRecordStore.open({
    path: join(dir, 'store.db'),
    gatewayId: 'gw-test',
    clock,
    onEvent: (e) => events.push(e),
    onCorrupt: 'quarantine',
    settings: storeSettingsSchema.parse(settings),
  }),
);
