import type { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import { createIpcClient } from '../../shared/src/runtime/ipc-client';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../shared/src/logger';
import { captureLines } from './capture';
import { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';

export type IpcClient = greengrasscoreipc.Client;

/** A logger whose lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const capture = captureLines();
  const logger = createLogger({
    component: 'test-host',
    version: '0',
    thing: 'gw-test',
    level: 'debug',
    destination: capture.stream,
  });
  return { logger, lines: capture.lines };
}

export async function startHost(
  dir: string,
  logger: Logger,
  options: { readonly validationOperations?: boolean } = {},
): Promise<LocalIpcHost> {
  const host = new LocalIpcHost({
    socketPath: join(dir, 'ipc.sock'),
    logger,
    validationTimeoutMs: 5_000,
    ...options,
  });
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
  const client = createIpcClient(host.socketPath, token);
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
