import { join } from 'node:path';
import { readObject } from '../../shared/src/messages/documents';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';
import type { LocalIpcHost, LocalPayload } from '../../shared/src/runtime/host/ipc-host';
import { ComponentLauncher } from '../../shared/src/runtime/host/launcher';
import { REPO_ROOT } from './child';
import { captureLogger, connectClient, pubsubAcl, startHost, type IpcClient } from './ipc';

export interface LocalGateway {
  readonly host: LocalIpcHost;
  readonly launcher: ComponentLauncher;
  readonly root: string;
  readonly logs: ReturnType<typeof captureLogger>;
  /** Messages the components published, as the host saw them. */
  readonly messages: { topic: string; payload: LocalPayload }[];
  close(): Promise<void>;
}

/** A local IPC host plus launcher over the project's recipes, in a fresh root directory. */
export async function localGateway(
  root: string,
  overrides: Record<string, JsonTree> = {},
  /** `validationOperations: false`: the host answers as nucleus lite does, without validation. */
  hostOptions: { readonly validationOperations?: boolean } = {},
): Promise<LocalGateway> {
  const logs = captureLogger();
  const host = await startHost(root, logs.logger, hostOptions);
  const launcher = new ComponentLauncher({
    host,
    projectRoot: REPO_ROOT,
    rootDir: root,
    recipesDir: join(REPO_ROOT, 'recipes'),
    thingName: 'gw-test',
    region: 'eu-west-1',
    logger: logs.logger,
    overrides,
    restartDelayMs: 200,
  });
  const messages: { topic: string; payload: LocalPayload }[] = [];
  host.subscribe('#', (topic, payload) => messages.push({ topic, payload }));
  return {
    host,
    launcher,
    root,
    logs,
    messages,
    close: async () => {
      await launcher.stopAll();
      await host.stop();
    },
  };
}

/** The documents (JSON objects, as the suite sends them in binary messages) seen on a topic. */
export function documents(gw: LocalGateway, topic: string): Record<string, unknown>[] {
  return documentsIn(gw.messages, topic);
}

export function documentsIn(
  messages: readonly { topic: string; payload: LocalPayload }[],
  topic: string,
): Record<string, unknown>[] {
  return messages.flatMap((m) => {
    if (m.topic !== topic) return [];
    const doc = readObject(m.payload);
    return doc === undefined ? [] : [doc];
  });
}

/**
 * Buffer and Ingest from their recipes, RUNNING, plus an SDK client registered as a component that may
 * publish readings (a client device's bridge, or another component).
 */
export async function ingestGateway(
  root: string,
  ingestOverrides: JsonTree,
  publishResources: readonly string[] = ['sensors/*'],
  bufferOverrides: JsonTree = {},
): Promise<{ gw: LocalGateway; sensor: IpcClient }> {
  const gw = await localGateway(root, {
    'com.edgedr.Ingest': ingestOverrides,
    'com.edgedr.Buffer': bufferOverrides,
  });
  const token = gw.host.addComponent('com.test.Sensors', {
    accessControl: pubsubAcl(publishResources, []),
  }).token;
  await gw.launcher.launch(['com.edgedr.Buffer', 'com.edgedr.Ingest']);
  await gw.launcher.waitForState('com.edgedr.Ingest', 'RUNNING', 20_000);
  return { gw, sensor: await connectClient(gw.host, token) };
}
