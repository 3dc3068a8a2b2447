import { greengrasscoreipc, io } from 'aws-iot-device-sdk-v2';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../shared/src/logger';
import { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';

export type IpcClient = greengrasscoreipc.Client;

/** A logger whose lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({
    component: 'test-host',
    version: '0',
    thing: 'gw-test',
    level: 'debug',
    destination,
  });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export async function startHost(dir: string, logger: Logger): Promise<LocalIpcHost> {
  const host = new LocalIpcHost({ socketPath: join(dir, 'ipc.sock'), logger, validationTimeoutMs: 5_000 });
  await host.start();
  return host;
}

export function pubsubAcl(publish: readonly string[], subscribe: readonly string[]): JsonTree {
  return {
    'aws.greengrass.ipc.pubsub': {
      [`test:pub:${Math.random().toString(36).slice(2)}`]: {
        policyDescription: 'test publish',
        operations: ['aws.greengrass#PublishToTopic'],
        resources: [...publish],
      },
      [`test:sub:${Math.random().toString(36).slice(2)}`]: {
        policyDescription: 'test subscribe',
        operations: ['aws.greengrass#SubscribeToTopic'],
        resources: [...subscribe],
      },
    },
  };
}

/** The SDK's own Greengrass IPC client, connected to the host with the given token. */
export async function connectClient(host: LocalIpcHost, token: string): Promise<IpcClient> {
  const client = greengrasscoreipc.createClient({
    hostName: host.socketPath,
    port: 0,
    socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.LOCAL),
    connectTransform: (t) => {
      t.message.payload = JSON.stringify({ authToken: token });
      return Promise.resolve(t.message);
    },
  });
  await client.connect();
  return client;
}

export async function eventually(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
