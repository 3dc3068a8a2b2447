import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegionConsumer } from '../../dev/consumer';
import {
  CONSUMER_TOPICS,
  replayRegionEntry,
  replayTopics,
  startRegion,
  type LocalRegion,
} from '../../dev/regions';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';
import { SqliteRecordStore } from '../../shared/src/store';
import { localGateway, type LocalGateway } from './launch';
import { useTempDir } from './temp-dir';

export const THING = 'gw-test';

export interface RegionSpec {
  readonly name: string;
  /** Topics the Replay identity may use; default: what the suite needs. */
  readonly replayTopics?: readonly string[];
  /** Give the Replay identity an expired certificate. */
  readonly expired?: boolean;
  /** More identities (certificate CNs) and the topics each may use. */
  readonly identities?: Readonly<Record<string, readonly string[]>>;
  /** Log connections with their client ids (see `clientIdsSeen`). */
  readonly logConnections?: boolean;
}

/** Regions with a `replay` and a `cloud` identity each, and a consumer per region. */
export async function startRegions(
  dir: string,
  specs: readonly RegionSpec[],
): Promise<{ regions: LocalRegion[]; consumers: RegionConsumer[] }> {
  const regions: LocalRegion[] = [];
  for (const s of specs) {
    regions.push(
      await startRegion(dir, s.name, {
        clients: [
          s.expired === true ? { name: 'replay', days: -1 } : 'replay',
          'cloud',
          ...Object.keys(s.identities ?? {}),
        ],
        acl: { replay: s.replayTopics ?? replayTopics(THING), cloud: CONSUMER_TOPICS, ...s.identities },
        logConnections: s.logConnections === true,
      }),
    );
  }
  const consumers = await Promise.all(
    regions.map((r) => RegionConsumer.connect(r, 'cloud', CONSUMER_TOPICS)),
  );
  return { regions, consumers };
}

/** A region entry of Replay's configuration for a local region. */
export function regionEntry(region: LocalRegion, priority: number, extra: JsonTree = {}): JsonTree {
  return replayRegionEntry(region, THING, priority, extra);
}

/** Timing that makes outages visible within a test's patience; production defaults are in the recipe. */
export const FAST_REPLAY: JsonTree = {
  connection: {
    keepAliveSeconds: 5,
    pingTimeoutMs: 1_000,
    ackTimeoutSeconds: 2,
    connectTimeoutMs: 2_000,
    minReconnectDelayMs: 200,
    maxReconnectDelayMs: 1_000,
  },
  health: { probeIntervalMs: 300, failbackHoldMs: 2_000, maxConsecutiveFailures: 2 },
  statusIntervalMs: 300,
  shadow: { minIntervalMs: 500 },
};

export interface ReplayGateway {
  readonly gw: LocalGateway;
  /** A writer on the gateway's store, standing in for Ingest. */
  readonly store: SqliteRecordStore;
  readonly storePath: string;
  close(): Promise<void>;
}

/** Buffer and Replay from their recipes under the local IPC host, RUNNING; cleaned up if they are not. */
export async function replayGateway(
  root: string,
  replay: JsonTree,
  buffer: JsonTree = {},
): Promise<ReplayGateway> {
  const gw = await localGateway(root, {
    'com.edgedr.Replay': { ...FAST_REPLAY, ...replay },
    'com.edgedr.Buffer': buffer,
  });
  let store: SqliteRecordStore | undefined;
  try {
    await gw.launcher.launch(['com.edgedr.Buffer']);
    await gw.launcher.waitForState('com.edgedr.Buffer', 'RUNNING', 20_000);
    const storePath = join(gw.launcher.workPath('com.edgedr.Buffer'), 'store', 'records.db');
    store = SqliteRecordStore.open({
      path: storePath,
      gatewayId: THING,
      onCorrupt: 'fail',
      integrityCheck: false,
    });
    await gw.launcher.launch(['com.edgedr.Replay']);
    await gw.launcher.waitForState('com.edgedr.Replay', 'RUNNING', 20_000);
    const opened = store;
    return {
      gw,
      store: opened,
      storePath,
      close: async () => {
        await gw.close();
        opened.close();
      },
    };
  } catch (err) {
    await gw.close();
    store?.close();
    const tail = (name: string): string => {
      try {
        return readFileSync(gw.launcher.logPath(name), 'utf8').trim().split('\n').slice(-3).join('\n');
      } catch {
        return '(no log)';
      }
    };
    throw new Error(`${(err as Error).message}\nReplay log: ${tail('com.edgedr.Replay')}`);
  }
}

/** Client ids a region (started with `logConnections`) saw connect and disconnect, from its log. */
export function clientIdsSeen(
  dir: string,
  region: LocalRegion,
): { connected: string[]; disconnected: string[] } {
  const lines = readFileSync(join(dir, `mosquitto-${region.broker.port}.log`), 'utf8').split('\n');
  const connected = lines.flatMap((l) => /New client connected from \S+ as (\S+)/.exec(l)?.[1] ?? []);
  const disconnected = lines.flatMap(
    (l) => /Client (\S+) (?:disconnected|closed its connection)/.exec(l)?.[1] ?? [],
  );
  return { connected, disconnected };
}

/** Times each record id arrived across consumers. */
export function arrivals(consumers: readonly RegionConsumer[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of consumers) for (const r of c.records()) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

/**
 * Regions, their consumers and a Replay gateway for one test, all stopped after it. Cleanup of the
 * test's own (e.g. a load generator) must be registered before this is called, so it runs first.
 */
export function useReplayRig(prefix: string): {
  tempDir: () => string;
  regions(specs: readonly RegionSpec[]): Promise<{ regions: LocalRegion[]; consumers: RegionConsumer[] }>;
  gateway(replay: JsonTree, buffer?: JsonTree): Promise<ReplayGateway>;
} {
  let rig: ReplayGateway | undefined;
  let regions: LocalRegion[] = [];
  let consumers: RegionConsumer[] = [];
  afterEach(async () => {
    await rig?.close();
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(regions.map((r) => r.stop()));
    rig = undefined;
    regions = [];
    consumers = [];
  });
  const tempDir = useTempDir(prefix);
  return {
    tempDir,
    regions: async (specs) => {
      ({ regions, consumers } = await startRegions(tempDir(), specs));
      return { regions, consumers };
    },
    gateway: async (replay, buffer = {}) => {
      rig = await replayGateway(tempDir(), replay, buffer);
      return rig;
    },
  };
}
