import { MessageType } from '../../shared/src/runtime/eventstream/rpc';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import { LocalIpcHost as Host } from '../../shared/src/runtime/host/ipc-host';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { captureLogger, connectClient, eventually, pubsubAcl } from '../support/ipc';
import { connectMessage, openRaw, operationMessage, replies } from '../support/raw-ipc';
import { useTempDir } from '../support/temp-dir';
import { thrown } from '../support/thrown';

/** What an attacker on the gateway, or a careless component, may try against the IPC host. */
describe('the local IPC host against hostile clients', () => {
  let host: LocalIpcHost;
  let capture: ReturnType<typeof captureLogger>;
  afterEach(async () => {
    await host.stop();
  });
  const tempDir = useTempDir('ggdr-hostile-');

  async function start(options: Partial<ConstructorParameters<typeof Host>[0]> = {}): Promise<void> {
    capture = captureLogger();
    host = new Host({ socketPath: join(tempDir(), 'ipc.sock'), logger: capture.logger, ...options });
    await host.start();
  }

  it('refuses every write to accessControl through UpdateConfiguration, at any key path', async () => {
    await start();
    const acl = pubsubAcl(['mine'], []);
    const { token } = host.addComponent('com.test.Sneaky', { accessControl: acl, x: 1 });
    const client = await connectClient(host, token);
    try {
      const grant = { accessControl: pubsubAcl(['*'], ['#']) };
      for (const [keyPath, valueToMerge] of [
        [[], grant],
        [[], { AccessControl: grant.accessControl }],
        [['accessControl'], grant.accessControl],
        [['ACCESSCONTROL', 'aws.greengrass.ipc.pubsub'], {}],
      ] as const) {
        const err = await thrown(
          client.updateConfiguration({ keyPath: [...keyPath], valueToMerge, timestamp: new Date() }),
        );
        expect(JSON.stringify(err)).toContain('accessControl can only change through a deployment');
      }
      expect(host.component('com.test.Sneaky')?.configuration['accessControl']).toEqual(acl);
      await expect(
        client.publishToTopic({
          topic: 'sensors/forged/telemetry',
          publishMessage: { jsonMessage: { message: {} } },
        }),
      ).rejects.toBeDefined();
      // Ordinary keys still update.
      await client.updateConfiguration({ keyPath: [], valueToMerge: { x: 2 }, timestamp: new Date() });
      expect(host.component('com.test.Sneaky')?.configuration['x']).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('closes unauthenticated connections that announce a large frame, before buffering it', async () => {
    await start();
    const peers = await Promise.all(Array.from({ length: 20 }, () => openRaw(host.socketPath)));
    // A prelude announcing 15 MiB, then part of it.
    const prelude = Buffer.from(connectMessage('x').subarray(0, 12));
    prelude.writeUInt32BE(15 * 1024 * 1024, 0);
    prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
    for (const p of peers) p.socket.write(Buffer.concat([prelude, Buffer.alloc(64 * 1024)]));
    await Promise.all(peers.map((p) => p.closed));
    expect(host.stats().connections).toBe(0);
    expect(
      capture.lines().some((l) => /bad frame length 15728640 \(at most 16384\)/.test(String(l['reason']))),
    ).toBe(true);
  });

  it('caps unauthenticated connections and closes those that never complete the handshake', async () => {
    await start({ maxUnauthenticated: 8, connectionLimits: { handshakeTimeoutMs: 300 } });
    const idle = await Promise.all(Array.from({ length: 20 }, () => openRaw(host.socketPath)));
    await eventually(() => host.stats().connections === 0, 5_000, 'idle connections closed');
    await Promise.all(idle.map((p) => p.closed));
    expect(capture.lines().some((l) => l['msg'] === 'refusing IPC connection: too many connections')).toBe(
      true,
    );
    expect(capture.lines().some((l) => l['msg'] === 'closing IPC connection: no handshake in time')).toBe(
      true,
    );
    // A real component still connects.
    const { token } = host.addComponent('com.test.Ok', {});
    const client = await connectClient(host, token);
    await client.close();
  });

  it("answers a deeply nested message with the operation's declared error, not an internal one", async () => {
    await start();
    const { token } = host.addComponent('com.test.Deep', { accessControl: pubsubAcl(['deep'], []) });
    const raw = await openRaw(host.socketPath);
    const nested = `${'['.repeat(4_500)}${']'.repeat(4_500)}`;
    raw.socket.write(
      Buffer.concat([
        connectMessage(token),
        operationMessage(
          1,
          'aws.greengrass#PublishToTopic',
          `{"topic":"deep","publishMessage":{"jsonMessage":{"message":${nested}}}}`,
        ),
      ]),
    );
    await eventually(() => replies(raw.received).length >= 2, 5_000, 'a reply');
    const reply = replies(raw.received)[1];
    expect(reply?.type).toBe(MessageType.ApplicationError);
    expect(reply?.payload.toString()).toMatch(/it nests more than 60 levels deep/);
    raw.socket.destroy();
  });
});
