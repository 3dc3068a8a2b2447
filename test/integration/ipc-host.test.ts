import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import { GreengrassIpcRuntime } from '../../shared/src/runtime/greengrass-ipc-runtime';
import type { LocalMessage } from '../../shared/src/runtime/port';
import { collect, spawnTs } from '../support/child';
import {
  captureLogger,
  connectClient,
  eventually,
  pubsubAcl,
  startHost,
  type IpcClient,
} from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

const { ReceiveMode } = greengrasscoreipc.model;

describe('local IPC host with the real SDK client', () => {
  let host: LocalIpcHost;
  let clients: IpcClient[];
  let capture: ReturnType<typeof captureLogger>;
  afterEach(async () => {
    for (const c of clients) await c.close();
    await host.stop(); // before the temp dir goes: hooks run in declaration order
  });
  const tempDir = useTempDir('ggdr-ipc-');

  beforeEach(async () => {
    capture = captureLogger();
    host = await startHost(tempDir(), capture.logger);
    clients = [];
  });

  async function client(name: string, config: Record<string, unknown> = {}): Promise<IpcClient> {
    const registered = host.component(name) ?? host.addComponent(name, config as never);
    const c = await connectClient(host, registered.token);
    clients.push(c);
    return c;
  }

  it('completes the handshake and refuses a wrong token', async () => {
    await client('com.test.Good');
    host.addComponent('com.test.Other', {});
    await expect(connectClient(host, 'not-a-token')).rejects.toThrow(/connack|handshake|connection/i);
    await eventually(() =>
      capture.lines().some((l) => l['msg'] === 'refusing IPC connection: bad version or unknown auth token'),
    );
    // The host serves the good client still.
    expect(host.stats().connections).toBeGreaterThanOrEqual(1);
  });

  it('routes JSON and binary messages between two clients with + and # wildcards', async () => {
    const pub = await client('com.test.Pub', { accessControl: pubsubAcl(['sensors/*'], []) });
    const sub = await client('com.test.Sub', {
      accessControl: pubsubAcl([], ['sensors/+/pressure', 'sensors/#']),
    });
    const plus: unknown[] = [];
    const hash: unknown[] = [];
    const s1 = sub.subscribeToTopic({ topic: 'sensors/+/pressure' });
    s1.on('message', (m) => plus.push(m));
    await s1.activate();
    const s2 = sub.subscribeToTopic({ topic: 'sensors/#' });
    s2.on('message', (m) => hash.push(m));
    await s2.activate();

    await pub.publishToTopic({
      topic: 'sensors/pump-1/pressure',
      publishMessage: { jsonMessage: { message: { bar: 2.5 } } },
    });
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    await pub.publishToTopic({
      topic: 'sensors/pump-1/raw',
      publishMessage: { binaryMessage: { message: binary } },
    });
    await eventually(() => plus.length === 1 && hash.length === 2, 5_000, 'deliveries');

    expect(plus).toEqual([
      { jsonMessage: { message: { bar: 2.5 }, context: { topic: 'sensors/pump-1/pressure' } } },
    ]);
    const rawEvent = hash[1] as { binaryMessage: { message: Buffer; context: { topic: string } } };
    expect(Buffer.from(rawEvent.binaryMessage.message).equals(binary)).toBe(true);
    expect(rawEvent.binaryMessage.context.topic).toBe('sensors/pump-1/raw');
    await s1.close();
    await s2.close();
    await eventually(() => host.stats().topicSubscriptions === 0, 5_000, 'unsubscribe');
  });

  it('honours receive modes for a component subscribing to its own topic', async () => {
    const self = await client('com.test.Self', { accessControl: pubsubAcl(['loop/x'], ['loop/x']) });
    const all: unknown[] = [];
    const others: unknown[] = [];
    const a = self.subscribeToTopic({ topic: 'loop/x', receiveMode: ReceiveMode.RECEIVE_ALL_MESSAGES });
    a.on('message', (m) => all.push(m));
    await a.activate();
    const o = self.subscribeToTopic({
      topic: 'loop/x',
      receiveMode: ReceiveMode.RECEIVE_MESSAGES_FROM_OTHERS,
    });
    o.on('message', (m) => others.push(m));
    await o.activate();
    await self.publishToTopic({ topic: 'loop/x', publishMessage: { jsonMessage: { message: 1 } } });
    host.publish('loop/x', { kind: 'json', message: 2 });
    await eventually(() => all.length === 2 && others.length === 1, 5_000, 'deliveries');
    expect(others).toEqual([{ jsonMessage: { message: 2, context: { topic: 'loop/x' } } }]);
  });

  it('answers UnauthorizedError for topics the recipe does not grant', async () => {
    const c = await client('com.test.Narrow', { accessControl: pubsubAcl(['allowed/out'], ['allowed/in']) });
    await expect(
      c.publishToTopic({ topic: 'other/out', publishMessage: { jsonMessage: { message: 1 } } }),
    ).rejects.toMatchObject({ serviceError: { _errorCode: 'UnauthorizedError' } });
    const sub = c.subscribeToTopic({ topic: 'allowed/#' }); // wildcards in a policy are literal
    await expect(sub.activate()).rejects.toMatchObject({ serviceError: { _errorCode: 'UnauthorizedError' } });
    const none = await client('com.test.NoPolicy');
    await expect(
      none.publishToTopic({ topic: 'allowed/out', publishMessage: { jsonMessage: { message: 1 } } }),
    ).rejects.toMatchObject({ serviceError: { _errorCode: 'UnauthorizedError' } });
    await c.publishToTopic({ topic: 'allowed/out', publishMessage: { jsonMessage: { message: 1 } } });
  });

  it('reads configuration with the nucleus semantics and reports a missing key', async () => {
    const c = await client('com.test.Config', { limits: { maxBytes: 10, nested: { on: true } }, name: 'x' });
    expect((await c.getConfiguration({ keyPath: ['limits', 'maxBytes'] })).value).toEqual({ maxBytes: 10 });
    expect((await c.getConfiguration({ keyPath: ['limits'] })).value).toEqual({
      maxBytes: 10,
      nested: { on: true },
    });
    expect((await c.getConfiguration({ keyPath: [] })).value).toEqual({
      limits: { maxBytes: 10, nested: { on: true } },
      name: 'x',
    });
    await expect(c.getConfiguration({ keyPath: ['nope'] })).rejects.toMatchObject({
      serviceError: { _errorCode: 'ResourceNotFoundError' },
    });
  });

  it('updates configuration and tells the watchers what changed', async () => {
    const c = await client('com.test.Watch', { limits: { maxBytes: 10 }, other: 1 });
    const events: unknown[] = [];
    const w = c.subscribeToConfigurationUpdate({ keyPath: ['limits'] });
    w.on('message', (e) => events.push(e));
    await w.activate();
    await c.updateConfiguration({
      keyPath: ['limits'],
      timestamp: new Date(),
      valueToMerge: { maxBytes: 20 },
    });
    await c.updateConfiguration({ keyPath: ['other'], timestamp: new Date(), valueToMerge: 2 });
    await eventually(() => events.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([
      { configurationUpdateEvent: { componentName: 'com.test.Watch', keyPath: ['limits', 'maxBytes'] } },
    ]);
    expect((await c.getConfiguration({ keyPath: ['limits', 'maxBytes'] })).value).toEqual({ maxBytes: 20 });
  });

  it('runs deployments through the component validation: refused stays, accepted applies', async () => {
    host.addComponent('com.test.Validate', { interval: 5 });
    const rt = await GreengrassIpcRuntime.connect({
      componentName: 'com.test.Validate',
      logger: capture.logger,
      socketPath: host.socketPath,
      authToken: host.component('com.test.Validate')?.token ?? '',
    });
    try {
      const seen: unknown[] = [];
      await rt.validateConfiguration((proposed) => {
        seen.push(proposed);
        const interval = (proposed as { interval?: unknown }).interval;
        return typeof interval === 'number' && interval > 0
          ? { ok: true }
          : { ok: false, message: 'interval must be > 0' };
      });
      const changes: (readonly string[])[] = [];
      await rt.watchConfiguration((k) => changes.push(k));

      const refused = await host.deploy('com.test.Validate', { interval: -1 });
      expect(refused).toMatchObject({ status: 'REJECTED', message: 'interval must be > 0' });
      expect(await rt.getConfiguration(['interval'])).toBe(5);

      const accepted = await host.deploy('com.test.Validate', { interval: 9 });
      expect(accepted.status).toBe('APPLIED');
      expect(await rt.getConfiguration(['interval'])).toBe(9);
      await eventually(() => changes.length === 1);
      expect(changes).toEqual([['interval']]);
      expect(seen).toEqual([{ interval: -1 }, { interval: 9 }]);
    } finally {
      await rt.close();
    }
  });

  it('records UpdateState and answers an unsupported operation with an error, not a hang', async () => {
    const c = await client('com.test.State');
    await c.updateState({ state: greengrasscoreipc.model.ReportedLifecycleState.RUNNING });
    expect(host.component('com.test.State')?.state).toBe('RUNNING');
    await expect(c.getSecretValue({ secretId: 's' })).rejects.toMatchObject({
      serviceError: { _errorCode: 'ServiceError' },
    });
    await expect(c.listComponents({})).rejects.toMatchObject({
      serviceError: { _errorCode: 'ServiceError' },
    });
  });

  it('carries many concurrent streams and requests on one connection', async () => {
    const c = await client('com.test.Many', { accessControl: pubsubAcl(['many/*'], ['many/*']) });
    const counts = new Map<number, number>();
    const subs = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const s = c.subscribeToTopic({ topic: `many/${i}`, receiveMode: ReceiveMode.RECEIVE_ALL_MESSAGES });
        s.on('message', () => counts.set(i, (counts.get(i) ?? 0) + 1));
        await s.activate();
        return s;
      }),
    );
    await Promise.all(
      Array.from({ length: 1000 }, (_, n) =>
        c.publishToTopic({ topic: `many/${n % 100}`, publishMessage: { jsonMessage: { message: n } } }),
      ),
    );
    await eventually(
      () => [...counts.values()].reduce((a, b) => a + b, 0) === 1000,
      10_000,
      'all deliveries',
    );
    expect([...counts.values()].every((v) => v === 10)).toBe(true);
    await Promise.all(subs.map((s) => s.close()));
  });

  it('cleans up after a client process that dies mid-stream and keeps serving the others', async () => {
    const peer = host.addComponent('com.test.Doomed', { accessControl: pubsubAcl([], ['doom/#']) });
    const survivor = await client('com.test.Survivor', { accessControl: pubsubAcl(['doom/x'], ['doom/x']) });
    const received: LocalMessage[] = [];
    const s = survivor.subscribeToTopic({ topic: 'doom/x', receiveMode: ReceiveMode.RECEIVE_ALL_MESSAGES });
    s.on('message', () => received.push({ topic: 'doom/x', kind: 'json', json: null }));
    await s.activate();

    const child = spawnTs('test/support/ipc-subscriber.ts', [host.socketPath, peer.token, 'doom/#']);
    let ready = false;
    const done = collect(child, (line) => {
      if (line === 'subscribed') ready = true;
    });
    await eventually(() => ready, 15_000, 'child subscription');
    expect(host.stats().topicSubscriptions).toBe(2);
    child.kill('SIGKILL');
    await done;
    await eventually(() => host.stats().topicSubscriptions === 1, 5_000, 'dead client cleanup');
    await survivor.publishToTopic({
      topic: 'doom/x',
      publishMessage: { jsonMessage: { message: 'still here' } },
    });
    await eventually(() => received.length === 1);
  });
});
