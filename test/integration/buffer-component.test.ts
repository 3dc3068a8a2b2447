import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { connectClient, eventually, pubsubAcl, type IpcClient } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
import { readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';

const BUFFER = 'com.edgedr.Buffer';
const METRICS = 'edgedr/buffer/metrics';

describe('the Buffer component under the local IPC host', () => {
  let gw: LocalGateway;
  // Registered before useTempDir: jest runs afterEach hooks in declaration order, and the gateway must
  // stop before its directory is removed.
  afterEach(async () => {
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-buf-');

  /** Buffer and Ingest, with maintenance and metrics every 200 ms. */
  async function ingestGatewayWith(root: string): Promise<LocalGateway> {
    const g = await localGateway(root, {
      [BUFFER]: { metricsIntervalMs: 200, maintenanceIntervalMs: 200 },
      'com.edgedr.Ingest': { metricsIntervalMs: 200 },
    });
    await g.launcher.launch([BUFFER, 'com.edgedr.Ingest']);
    await g.launcher.waitForState('com.edgedr.Ingest', 'RUNNING', 20_000);
    return g;
  }

  async function sensorClient(g: LocalGateway): Promise<IpcClient> {
    const token = g.host.addComponent('com.test.Sensors', {
      accessControl: pubsubAcl(['sensors/*'], []),
    }).token;
    return connectClient(g.host, token);
  }

  async function launch(overrides: Record<string, unknown> = {}): Promise<void> {
    gw = await localGateway(tempDir(), {
      [BUFFER]: { metricsIntervalMs: 200, maintenanceIntervalMs: 200, ...overrides },
    });
    await gw.launcher.launch([BUFFER]);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
  }

  it('reaches RUNNING from its recipe, owns the store in its work directory, and publishes metrics', async () => {
    await launch();
    expect(existsSync(join(gw.launcher.workPath(BUFFER), 'store', 'records.db'))).toBe(true);
    await eventually(() => documents(gw, METRICS).length >= 2, 10_000, 'metrics');
    const [m] = documents(gw, METRICS);
    expect(m).toMatchObject({
      component: BUFFER,
      lanes: { alert: { depth: 0 }, telemetry: { depth: 0 } },
      maxStoreBytes: 536870912,
      deadLettersTotal: 0,
    });
    expect(typeof m?.['usedBytes']).toBe('number');
    const log = readFileSync(gw.launcher.logPath(BUFFER), 'utf8');
    expect(log).toContain('"msg":"running"');
    // The data is for the component's user only: another local user can read neither store nor log.
    const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
    const work = gw.launcher.workPath(BUFFER);
    expect([work, join(work, 'store')].map(mode)).toEqual(['700', '700']);
    // The store path links to the data file; the WAL and shared memory are named after the data file.
    const data = readlinkSync(join(work, 'store', 'records.db'));
    for (const f of [data, `${data}-wal`, `${data}-shm`, 'records.db.owner.json'])
      expect(mode(join(work, 'store', f))).toBe('600');
    expect(mode(gw.launcher.logPath(BUFFER))).toBe('600');
    expect(log).toContain('"thing":"gw-test"');
  });

  it('refuses an invalid configuration update, keeps running with the old one, and applies a valid one', async () => {
    await launch();
    const current = gw.host.component(BUFFER)?.configuration ?? {};
    const refused = await gw.host.deploy(BUFFER, { ...current, metricsIntervalMs: 'often', unknownKey: 1 });
    expect(refused.status).toBe('REJECTED');
    expect(refused.message).toContain('metricsIntervalMs: expected number, found string "often"');
    expect(refused.message).toContain('unknownKey: expected no such key');
    expect(gw.host.component(BUFFER)?.state).toBe('RUNNING');
    const before = documents(gw, METRICS).length;
    await eventually(() => documents(gw, METRICS).length >= before + 2, 10_000, 'metrics after refusal');

    const applied = await gw.host.deploy(BUFFER, {
      ...current,
      metricsTopic: 'edgedr/buffer/metrics',
      logLevel: 'debug',
    });
    expect(applied.status).toBe('APPLIED');
    await eventually(
      () => readFileSync(gw.launcher.logPath(BUFFER), 'utf8').includes('configuration applied'),
      10_000,
    );
  });

  it('is restarted after SIGKILL, and three errors make it BROKEN', async () => {
    await launch();
    const firstPid = gw.launcher.pid(BUFFER);
    gw.launcher.signal(BUFFER, 'SIGKILL');
    await gw.launcher.waitForState(BUFFER, 'ERRORED', 10_000);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
    expect(gw.launcher.pid(BUFFER)).not.toBe(firstPid);

    gw.launcher.signal(BUFFER, 'SIGKILL');
    await gw.launcher.waitForState(BUFFER, 'ERRORED', 10_000);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
    gw.launcher.signal(BUFFER, 'SIGKILL');
    await gw.launcher.waitForState(BUFFER, 'BROKEN', 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(gw.host.component(BUFFER)?.state).toBe('BROKEN');
    expect(gw.launcher.pid(BUFFER)).toBeUndefined();
  });

  it('exits when its IPC connection is lost, and is restarted', async () => {
    await launch();
    const firstPid = gw.launcher.pid(BUFFER);
    expect(gw.host.dropConnections(BUFFER)).toBe(1);
    await gw.launcher.waitForState(BUFFER, 'ERRORED', 10_000);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
    expect(gw.launcher.pid(BUFFER)).not.toBe(firstPid);
    const log = readFileSync(gw.launcher.logPath(BUFFER), 'utf8');
    expect(log).toContain('"reason":"IPC connection lost"');
    expect(log).toContain('"code":"IPC_LOST"');
  });

  it('stops cleanly on SIGTERM within the nucleus budget', async () => {
    await launch();
    const { stoppedCleanly } = await gw.launcher.stop(BUFFER);
    expect(stoppedCleanly).toBe(true);
    expect(gw.host.component(BUFFER)?.state).toBe('FINISHED');
    const log = readFileSync(gw.launcher.logPath(BUFFER), 'utf8');
    expect(log).toMatch(/"reason":"SIGTERM","msg":"stopping"/);
  });

  it('ends the epoch of a data file replaced under the running suite, and Ingest follows to the new store', async () => {
    gw = await ingestGatewayWith(tempDir());
    const g = gw;
    const storePath = join(g.launcher.workPath(BUFFER), 'store', 'records.db');
    const sensor = await sensorClient(g);
    try {
      const publish = (n: number): Promise<unknown> =>
        sensor.publishToTopic({
          topic: 'sensors/pump-1/p',
          publishMessage: { jsonMessage: { message: { ts: Date.now(), n } } },
        });
      for (let n = 0; n < 20; n++) await publish(n);
      await eventually(() => readStore(storePath).records.length === 20, 10_000, 'first records');
      const target = join(dirname(storePath), readlinkSync(storePath));
      const lostEpoch = target.slice(storePath.length + 1);
      // The data file replaced by a copy of itself, as a restore of a backup would.
      copyFileSync(target, `${target}.c`);
      renameSync(`${target}.c`, target);
      await eventually(
        () => documents(g, 'edgedr/buffer/events').some((e) => e['type'] === 'recreated'),
        10_000,
        'STORE_RECREATED',
      );
      const event = documents(g, 'edgedr/buffer/events').find((e) => e['type'] === 'recreated');
      expect(event).toMatchObject({ code: 'STORE_RECREATED', cause: 'replaced', lostEpoch, lostRecords: 20 });
      for (let n = 100; n < 110; n++) await publish(n);
      await eventually(() => readStore(storePath).records.length === 11, 15_000, 'the new store in use');
      const { records } = readStore(storePath);
      // The new store: its gap marker naming what the lost epoch held, then Ingest's new readings.
      expect(JSON.parse(records[0]?.body ?? '{}')).toMatchObject({
        kind: 'gap',
        reason: 'store_lost',
        lostEpoch,
        evictedRecords: 20,
      });
      expect(records.slice(1).map((r) => (JSON.parse(r.body) as { n: number }).n)).toEqual(
        Array.from({ length: 10 }, (_, i) => 100 + i),
      );
      expect(readlinkSync(storePath)).not.toBe(basename(target));
    } finally {
      await sensor.close();
    }
  });

  it('quarantines a damaged store file at start, recreates it, and says so on its events topic', async () => {
    const storeDir = join(tempDir(), 'work', BUFFER, 'store');
    mkdirSync(storeDir, { recursive: true });
    writeFileSync(join(storeDir, 'records.db'), 'not a database at all, just bytes'.repeat(100));
    await launch();
    await eventually(() => documents(gw, 'edgedr/buffer/events').length > 0, 10_000, 'store event');
    expect(documents(gw, 'edgedr/buffer/events')[0]).toMatchObject({
      type: 'recreated',
      code: 'STORE_RECREATED',
    });
    expect(readdirSync(storeDir).some((f) => f.startsWith('records.db.corrupt-'))).toBe(true);
    expect(readFileSync(gw.launcher.logPath(BUFFER), 'utf8')).toContain('"code":"STORE_RECREATED"');
  });
});
