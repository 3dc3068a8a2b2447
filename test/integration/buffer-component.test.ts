import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
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
    for (const f of ['records.db', 'records.db-wal', 'records.db-shm'])
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
