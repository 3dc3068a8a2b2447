import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../shared/src/logger';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import { ComponentLauncher } from '../shared/src/runtime/host/launcher';
import { RegionConsumer } from './consumer';
import { CONSUMER_TOPICS, replayRegionEntry, replayTopics, startRegion, type LocalRegion } from './regions';

export const SUITE_COMPONENTS = [
  'com.edgedr.Buffer',
  'com.edgedr.Ingest',
  'com.edgedr.Inference',
  'com.edgedr.Replay',
] as const;

/** The optional status page: not part of the suite's data path, started only when asked for. */
export const STATUS_COMPONENT_NAME = 'com.edgedr.Status';

/**
 * The address the status page logs once it listens (`status page listening`, with its `url`). Throws
 * with the component's own reason when it logs that it cannot listen (a port in use), or after `timeoutMs`.
 */
export async function statusPageUrl(logPath: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    const url = /"url":"([^"]+)","tokenRequired"/.exec(log)?.[1];
    if (url !== undefined) return url;
    const refused = log.split('\n').find((line) => line.includes('"STATUS_LISTEN_FAILED"'));
    if (refused !== undefined) throw new Error(`the status page is not listening: ${listenFailure(refused)}`);
    if (Date.now() > deadline)
      throw new Error(`the status page did not say where it listens within ${timeoutMs} ms (${logPath})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The reason in a `status page not listening` log line. */
function listenFailure(line: string): string {
  try {
    const entry = JSON.parse(line) as { err?: { message?: unknown } };
    if (typeof entry.err?.message === 'string') return entry.err.message;
  } catch {
    // not one JSON line: show it as it is
  }
  return line;
}

export interface LocalSuite {
  readonly root: string;
  readonly thing: string;
  readonly host: LocalIpcHost;
  readonly launcher: ComponentLauncher;
  readonly regions: { readonly a: LocalRegion; readonly b: LocalRegion };
  readonly cloud: { readonly a: RegionConsumer; readonly b: RegionConsumer };
  /** Stops everything it started, once; removes the work directory unless `keep`. */
  stop(): Promise<void>;
}

export interface SuiteOptions {
  readonly thing: string;
  readonly keep: boolean;
  /** Per component, merged over the recipe's DefaultConfiguration (Replay gets its regions here). */
  readonly overrides: (regions: { a: LocalRegion; b: LocalRegion }) => Record<string, JsonTree>;
  readonly restartDelayMs?: number;
  /** Errors before a component is BROKEN (Greengrass: three within an hour). */
  readonly maxErrors?: number;
  /** Each region in a network namespace of its own, for packet-level faults (dev/netns.ts). */
  readonly ownNetworks?: boolean;
  /** Also start the status page (com.edgedr.Status), after the four; its overrides come as the others'. */
  readonly status?: boolean;
}

/**
 * The whole suite on this machine: two local regions (Mosquitto with TLS and client certificates made on
 * the fly) with a cloud-side consumer each, and the four components from their recipes under the local
 * IPC host, Buffer first (and the status page when asked for). Ctrl-C (SIGINT) or SIGTERM stops all of it: the components run in process
 * groups of their own and would otherwise outlive the caller.
 */
export async function startLocalSuite(options: SuiteOptions): Promise<LocalSuite> {
  const root = mkdtempSync(join(tmpdir(), 'edgedr-suite-'));
  const logger = createLogger({
    component: 'local-suite',
    version: '0.1.0',
    thing: options.thing,
    level: 'warn',
  });
  const regionFor = (name: string): Promise<LocalRegion> =>
    startRegion(root, name, {
      clients: ['replay', 'cloud'],
      acl: { replay: replayTopics(options.thing), cloud: CONSUMER_TOPICS },
      ownNetwork: options.ownNetworks === true,
    });
  const a = await regionFor('region-a');
  const b = await regionFor('region-b');
  const cloud = {
    a: await RegionConsumer.connect(a, 'cloud', CONSUMER_TOPICS),
    b: await RegionConsumer.connect(b, 'cloud', CONSUMER_TOPICS),
  };
  const host = new LocalIpcHost({
    socketPath: join(root, 'ipc.sock'),
    logger,
    maxPendingWriteBytes: 64 * 1024 * 1024,
  });
  await host.start();
  const projectRoot = resolve(__dirname, '..');
  const overrides = options.overrides({ a, b });
  const replay = overrides['com.edgedr.Replay'] ?? {};
  const launcher = new ComponentLauncher({
    host,
    projectRoot,
    rootDir: root,
    recipesDir: join(projectRoot, 'recipes'),
    thingName: options.thing,
    region: 'local',
    logger,
    ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
    ...(options.maxErrors === undefined ? {} : { maxErrors: options.maxErrors }),
    overrides: {
      ...overrides,
      'com.edgedr.Replay': {
        regions: [replayRegionEntry(a, options.thing, 0), replayRegionEntry(b, options.thing, 1)],
        ...replay,
      },
    },
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await launcher.stopAll();
      await host.stop();
      await Promise.all([cloud.a.close(), cloud.b.close()]);
      await Promise.all([a.stop(), b.stop()]);
      if (!options.keep) rmSync(root, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      console.log(`\n${signal}: stopping the components and the regions`);
      void stop().then(() => process.exit(130));
    });
  try {
    await launcher.launch(['com.edgedr.Buffer']);
    await launcher.waitForState('com.edgedr.Buffer', 'RUNNING', 30_000);
    await launcher.launch(SUITE_COMPONENTS.slice(1));
    for (const name of SUITE_COMPONENTS.slice(1)) await launcher.waitForState(name, 'RUNNING', 60_000);
    if (options.status === true) {
      await launcher.launch([STATUS_COMPONENT_NAME]);
      await launcher.waitForState(STATUS_COMPONENT_NAME, 'RUNNING', 60_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { root, thing: options.thing, host, launcher, regions: { a, b }, cloud, stop };
}
