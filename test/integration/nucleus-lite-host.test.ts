import { readFileSync } from 'node:fs';
import { DrError } from '../../shared/src/errors';
import { createLogger } from '../../shared/src/logger';
import { GreengrassIpcRuntime } from '../../shared/src/runtime/greengrass-ipc-runtime';
import { captureLines } from '../support/capture';
import { connectClient, eventually, pubsubAcl } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
import { useTempDir } from '../support/temp-dir';
import { thrown } from '../support/thrown';

const BUFFER = 'com.edgedr.Buffer';
const METRICS = 'edgedr/buffer/metrics';

/**
 * The local IPC host as strict as nucleus lite: no configuration validation, and its message limits.
 * The same component code must run there without crash loops and without messages the nucleus drops.
 */
describe('components under a host that behaves like nucleus lite', () => {
  let gw: LocalGateway;
  afterEach(async () => {
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-lite-');

  async function launchBuffer(): Promise<void> {
    gw = await localGateway(
      tempDir(),
      { [BUFFER]: { metricsIntervalMs: 200, maintenanceIntervalMs: 200 } },
      { validationOperations: false },
    );
    await gw.launcher.launch([BUFFER]);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
  }

  const lastMetrics = (): Record<string, unknown> | undefined => documents(gw, METRICS).at(-1);

  it('runs without validation requests, says so once, and refuses an invalid change by keeping the last good one', async () => {
    await launchBuffer();
    const log = (): string => readFileSync(gw.launcher.logPath(BUFFER), 'utf8');
    expect(log().match(/does not ask components to validate deployments/g)).toHaveLength(1);
    await eventually(() => lastMetrics() !== undefined, 10_000, 'metrics');
    expect(lastMetrics()?.['configuration']).toEqual({
      validatedByNucleus: false,
      refused: 0,
      lastRefusal: null,
      runningLastGood: false,
    });

    // Without validation the deployment lands; the component refuses it itself.
    const current = gw.host.component(BUFFER)?.configuration ?? {};
    const result = await gw.host.deploy(BUFFER, { ...current, metricsIntervalMs: 'often' });
    expect(result.status).toBe('APPLIED');
    await eventually(
      () => (lastMetrics()?.['configuration'] as { refused?: number } | undefined)?.refused === 1,
      10_000,
      'the refusal in the metrics',
    );
    expect(lastMetrics()?.['configuration']).toMatchObject({
      runningLastGood: true,
      lastRefusal: { problems: 'metricsIntervalMs: expected number, found string "often"' },
    });
    expect(log()).toContain('configuration change refused: the last good configuration keeps running');
    // Still publishing at the old interval, still RUNNING.
    const before = documents(gw, METRICS).length;
    await eventually(
      () => documents(gw, METRICS).length >= before + 3,
      10_000,
      'metrics at the old interval',
    );
    expect(gw.host.component(BUFFER)?.state).toBe('RUNNING');

    // A restart with the bad configuration still in place starts with the last good one: no crash loop.
    gw.launcher.signal(BUFFER, 'SIGKILL');
    await gw.launcher.waitForState(BUFFER, 'ERRORED', 10_000);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
    expect(log()).toContain(
      'configuration refused: starting with the last good configuration of this device',
    );
    await eventually(
      () =>
        (lastMetrics()?.['configuration'] as { runningLastGood?: boolean } | undefined)?.runningLastGood ===
        true,
      10_000,
      'metrics of the restarted component',
    );

    // A good configuration is applied again.
    await gw.host.deploy(BUFFER, { ...current, metricsIntervalMs: 150 });
    await eventually(
      () =>
        (lastMetrics()?.['configuration'] as { runningLastGood?: boolean } | undefined)?.runningLastGood ===
        false,
      10_000,
      'the good configuration applied',
    );
    expect(gw.host.component(BUFFER)?.state).toBe('RUNNING');
  });

  it('refuses, with the declared error, messages nucleus lite would drop, and delivers those it takes', async () => {
    await launchBuffer();
    const token = gw.host.addComponent('com.test.Big', {
      accessControl: pubsubAcl(['big/*'], ['big/*']),
    }).token;
    const client = await connectClient(gw.host, token);
    try {
      const flat = (n: number): Record<string, number> =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
      const publish = (message: unknown) =>
        client.publishToTopic({ topic: 'big/json', publishMessage: { jsonMessage: { message } } });
      await expect(publish(flat(23))).resolves.toBeDefined();
      const refusal = await thrown(publish(flat(24)));
      // PublishToTopic declares UnauthorizedError and ServiceError only.
      expect(JSON.stringify(refusal)).toContain('"_errorCode":"ServiceError"');
      expect(JSON.stringify(refusal)).toContain('about 23 key/value pairs in all');
      const big = Buffer.alloc(8_000);
      const binary = await thrown(
        client.publishToTopic({ topic: 'big/bin', publishMessage: { binaryMessage: { message: big } } }),
      );
      expect(JSON.stringify(binary)).toContain('at most 10000');
    } finally {
      await client.close();
    }
  });
});

describe('the runtime adapter', () => {
  let gw: LocalGateway;
  afterEach(async () => {
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-lite-rt-');

  it('refuses, before sending, a message a nucleus would not deliver, and names the limit', async () => {
    gw = await localGateway(tempDir(), {}, { validationOperations: false });
    const token = gw.host.addComponent('com.test.Rt', { accessControl: pubsubAcl(['t/*'], []) }).token;
    const capture = captureLines();
    const rt = await GreengrassIpcRuntime.connect({
      componentName: 'com.test.Rt',
      socketPath: gw.host.socketPath,
      authToken: token,
      logger: createLogger({ component: 't', version: '0', thing: 't', destination: capture.stream }),
    });
    try {
      const json = await thrown(rt.publishJson('t/a', { list: Array.from({ length: 60 }, (_, i) => i) }));
      expect(json).toBeInstanceOf(DrError);
      expect((json as DrError).code).toBe('IPC_MESSAGE_TOO_LARGE');
      expect((json as DrError).message).toContain('message on t/a not sent');
      const binary = await thrown(rt.publishBinary('t/b', Buffer.alloc(7_500)));
      expect((binary as DrError).code).toBe('IPC_MESSAGE_TOO_LARGE');
      await expect(rt.publishBinary('t/b', Buffer.alloc(7_000))).resolves.toBeUndefined();
      // Validation is not offered: null, not a lost connection.
      await expect(rt.validateConfiguration(() => ({ ok: true }))).resolves.toBeNull();
      await new Promise((r) => setTimeout(r, 200));
      await expect(rt.publishJson('t/a', { ok: 1 })).resolves.toBeUndefined();
    } finally {
      await rt.close();
    }
  });
});
