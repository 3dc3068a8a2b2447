import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMessage, openRaw, operationMessage, replies } from '../support/raw-ipc';
import { liveBatchRecords } from '../../shared/src/messages';
import { eventually, type IpcClient } from '../support/ipc';
import { ingestGateway, documents, type LocalGateway } from '../support/launch';
import { countRecords, readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';

const BUFFER = 'com.edgedr.Buffer';
const INGEST = 'com.edgedr.Ingest';

describe('the Ingest component under the local IPC host', () => {
  let gw: LocalGateway;
  let sensor: IpcClient | undefined;
  afterEach(async () => {
    await sensor?.close();
    sensor = undefined;
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-ing-');

  function storePath(): string {
    return join(gw.launcher.workPath(BUFFER), 'store', 'records.db');
  }

  async function start(ingestOverrides: Record<string, unknown> = {}): Promise<void> {
    ({ gw, sensor } = await ingestGateway(tempDir(), { metricsIntervalMs: 200, ...ingestOverrides }, [
      'sensors/*',
      'edgedr/inference/anomalies',
    ]));
  }

  function publish(topic: string, message: unknown): Promise<unknown> {
    return (sensor as IpcClient).publishToTopic({ topic, publishMessage: { jsonMessage: { message } } });
  }

  function publishBytes(topic: string, bytes: Buffer): Promise<unknown> {
    return (sensor as IpcClient).publishToTopic({
      topic,
      publishMessage: { binaryMessage: { message: bytes } },
    });
  }

  it('stores every valid reading exactly once with the configured mapping', async () => {
    await start();
    const now = Date.now();
    const sent: { device: string; stream: string; ts: number; n: number }[] = [];
    for (let n = 0; n < 200; n++) {
      const device = `pump-${n % 4}`;
      const stream = n % 2 === 0 ? 'pressure' : 'flow';
      const ts = now - 1000 + n;
      sent.push({ device, stream, ts, n });
      await publish(`sensors/${device}/${stream}`, { ts, value: n / 10, n, ok: true });
    }
    // Seconds and ISO timestamps, and a binary JSON payload.
    await publish('sensors/pump-9/temp', { ts: Math.floor(now / 1000), celsius: 71.5 });
    await publishBytes(
      'sensors/pump-9/temp',
      Buffer.from(JSON.stringify({ ts: new Date(now).toISOString(), celsius: 72 })),
    );
    await eventually(() => countRecords(storePath()) === 202, 15_000, 'all records committed');

    const { records } = readStore(storePath());
    const byN = new Map<number, (typeof records)[number]>();
    for (const r of records) {
      const body = JSON.parse(r.body) as { n?: number };
      if (body.n !== undefined) {
        expect(byN.has(body.n)).toBe(false); // exactly once
        byN.set(body.n, r);
      }
    }
    for (const s of sent) {
      const r = byN.get(s.n);
      expect(r).toMatchObject({ lane: 1, stream: s.stream, device_id: s.device, ts_ms: s.ts });
      expect(JSON.parse(r?.body ?? '{}')).toEqual({ value: s.n / 10, n: s.n, ok: true });
    }
    const temps = records.filter((r) => r.stream === 'temp');
    expect(temps.map((r) => r.ts_ms)).toEqual([Math.floor(now / 1000) * 1000, now]);
  });

  it('judges the value the publisher sent: 1e309 and __proto__ arrive as sent and are dead-lettered with their reason', async () => {
    await start();
    const now = Date.now();
    // A JSON message whose text holds 1e309: the SDK client cannot even write it, a raw one can.
    const token = gw.host.component('com.test.Sensors')?.token ?? '';
    const raw = await openRaw(gw.host.socketPath);
    raw.socket.write(
      Buffer.concat([
        connectMessage(token),
        operationMessage(
          1,
          'aws.greengrass#PublishToTopic',
          `{"topic":"sensors/pump-1/p","publishMessage":{"jsonMessage":{"message":{"ts":${now},"t":1e309}}}}`,
        ),
      ]),
    );
    await eventually(() => replies(raw.received).length >= 2, 5_000, 'the publish answered');
    raw.socket.destroy();
    await publish('sensors/pump-1/p', JSON.parse(`{"ts": ${now}, "v": 1, "__proto__": {"polluted": true}}`));
    await eventually(() => readStore(storePath()).deadLetters.length === 2, 15_000, 'two dead letters');
    const { records, deadLetters } = readStore(storePath());
    expect(records).toHaveLength(0);
    expect(deadLetters.map((d) => d.reason).sort()).toEqual(['non_finite', 'reserved_key']);
    // Reasons are readable in the log; nothing of the payload is.
    const log = readFileSync(gw.launcher.logPath(INGEST), 'utf8');
    expect(log).toContain('"reason":"non_finite"');
    expect(log).toContain('"reason":"reserved_key"');
    expect(log).not.toContain('polluted');
  });

  it('dead-letters bad input with its reason and raw bytes, and keeps running', async () => {
    // Readings over IPC stay under nucleus lite's 10,000-byte messages: a smaller cap shows the refusal.
    await start({ allowedDevices: ['pump-1'], maxPayloadBytes: 4096 });
    const now = Date.now();
    await publishBytes('sensors/pump-1/p', Buffer.from('{"ts": 1, "value": '));
    await publishBytes('sensors/pump-1/p', Buffer.from(`{"ts": ${now}, "value": 1e999}`));
    await publish('sensors/pump-1/p', [1, 2, 3]);
    await publish('sensors/pump-1/p', { value: 1 }); // no ts
    await publish('sensors/pump-1/p', { ts: now + 3_600_000, value: 1 }); // far future
    await publish('sensors/pump-1/p', { ts: now, value: { nested: true } });
    await publish('sensors/pump-2/p', { ts: now, value: 1 }); // not allowed
    await publish('sensors/pump-1/p', { ts: now, value: 'x'.repeat(6_000) }); // oversize
    await publish('sensors/pump-1/p', { ts: now, value: 7 }); // the one good reading
    await eventually(
      () => {
        const s = readStore(storePath());
        // Records and dead letters commit in separate transactions: wait for both.
        return s.deadLetters.length === 8 && s.records.length === 1;
      },
      15_000,
      'dead letters and the one good record',
    );
    const { records, deadLetters } = readStore(storePath());
    expect(deadLetters.map((d) => d.reason)).toEqual([
      'not_json',
      'non_finite',
      'not_object',
      'bad_timestamp',
      'timestamp_out_of_bounds',
      'bad_measurements',
      'unknown_device',
      'oversize',
    ]);
    expect(deadLetters[0]?.raw.toString()).toBe('{"ts": 1, "value": ');
    expect(deadLetters.every((d) => d.source === 'sensors/pump-1/p' || d.source === 'sensors/pump-2/p')).toBe(
      true,
    );
    expect(records).toHaveLength(1);
    await eventually(
      () => (documents(gw, 'edgedr/ingest/metrics').at(-1)?.['accepted'] ?? 0) === 1,
      5_000,
      'metrics',
    );
    const metrics = documents(gw, 'edgedr/ingest/metrics').at(-1);
    expect(metrics?.['rejected']).toEqual({
      not_json: 1,
      non_finite: 1,
      not_object: 1,
      bad_timestamp: 1,
      timestamp_out_of_bounds: 1,
      bad_measurements: 1,
      unknown_device: 1,
      oversize: 1,
    });
    expect(gw.host.component(INGEST)?.state).toBe('RUNNING');
  });

  it('waits out another process holding the write lock, with nothing dropped', async () => {
    await start();
    const locker = new Database(storePath());
    locker.prepare('BEGIN IMMEDIATE').run();
    try {
      const now = Date.now();
      for (let n = 0; n < 100; n++) await publish('sensors/pump-1/p', { ts: now + n, n });
      // Longer than Ingest's slice of the busy timeout several times over: its commits are retried.
      await eventually(
        () => Number(documents(gw, 'edgedr/ingest/metrics').at(-1)?.['storeRetries'] ?? 0) >= 3,
        15_000,
        'commits retried',
      );
      expect(countRecords(storePath())).toBe(0);
    } finally {
      locker.prepare('ROLLBACK').run();
      locker.close();
    }
    await eventually(() => countRecords(storePath()) === 100, 15_000, 'all committed after the lock');
    await eventually(
      () => documents(gw, 'edgedr/ingest/metrics').at(-1)?.['accepted'] === 100,
      5_000,
      'metrics',
    );
    const m = documents(gw, 'edgedr/ingest/metrics').at(-1);
    expect(m).toMatchObject({ storeFailures: 0, rejected: {} });
  });

  it('reports each eviction its own appends run, once, on the store events topic and in its log', async () => {
    ({ gw, sensor } = await ingestGateway(
      tempDir(),
      { metricsIntervalMs: 200 },
      ['sensors/*'],
      // A small quota, and maintenance too rare to evict first: Ingest's appends evict.
      { maintenanceIntervalMs: 3_600_000, store: { maxStoreBytes: 1024 * 1024, evictToRatio: 0.8 } },
    ));
    const now = Date.now();
    for (let n = 0; n < 1_200; n++)
      await publish(`sensors/pump-${n % 3}/bulk`, { ts: now - 60_000 + n, n, note: 'x'.repeat(900) });
    const evictions = (): Record<string, unknown>[] =>
      documents(gw, 'edgedr/buffer/events').filter((d) => d['type'] === 'eviction');
    await eventually(() => evictions().length > 0, 20_000, 'an eviction event');
    await eventually(
      () => documents(gw, 'edgedr/ingest/metrics').at(-1)?.['accepted'] === 1_200,
      20_000,
      'every reading committed',
    );
    const events = evictions();
    expect(events.every((e) => e['component'] === INGEST)).toBe(true);
    const reports = events.map((e) => e['report'] as { gapMarkerId: string; reason: string });
    expect(new Set(reports.map((r) => r.gapMarkerId)).size).toBe(reports.length);
    expect(reports.every((r) => r.reason === 'quota')).toBe(true);
    // Logged once each, by the component that ran it.
    const log = readFileSync(gw.launcher.logPath(INGEST), 'utf8');
    for (const r of reports) expect(log.split(r.gapMarkerId).length - 1).toBe(1);
    expect(documents(gw, 'edgedr/ingest/metrics').at(-1)).toMatchObject({ storeFailures: 0 });
  });

  it('publishes each committed batch once, after the commit', async () => {
    await start();
    const checked: { ids: string[]; allStored: boolean }[] = [];
    gw.host.subscribe('edgedr/ingest/live', (_topic, payload) => {
      const ids = liveBatchRecords(payload).map((r) => r.id);
      const stored = new Set(readStore(storePath()).records.map((r) => r.seq));
      checked.push({ ids, allStored: ids.every((id) => stored.has(Number(id.split(':').pop()))) });
    });
    const now = Date.now();
    await Promise.all(Array.from({ length: 300 }, (_, n) => publish(`sensors/pump-1/p`, { ts: now, n })));
    await eventually(() => checked.reduce((s, c) => s + c.ids.length, 0) === 300, 15_000, 'live batches');
    expect(checked.every((c) => c.allStored)).toBe(true);
    expect(checked.length).toBeLessThan(300); // batches, not one message per record
    const all = checked.flatMap((c) => c.ids);
    expect(new Set(all).size).toBe(300);
  });

  it('stores anomaly events from Inference in the alert lane', async () => {
    await start();
    await publish('edgedr/inference/anomalies', {
      kind: 'onset',
      asset: 'pump-3',
      atMs: Date.now(),
      score: 12.5,
      threshold: 4,
    });
    await eventually(() => countRecords(storePath()) === 1, 10_000, 'anomaly stored');
    const [r] = readStore(storePath()).records;
    expect(r).toMatchObject({ lane: 0, stream: 'anomaly', device_id: 'pump-3' });
    expect(JSON.parse(r?.body ?? '{}')).toMatchObject({ score: 12.5, kind: 'onset' });
  });
});
