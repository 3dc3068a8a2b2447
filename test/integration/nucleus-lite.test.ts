import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponents } from '../../scripts/build-components';
import { RegionConsumer } from '../../dev/consumer';
import { PumpSimulator } from '../../dev/pump-simulator';
import {
  CONSUMER_TOPICS,
  replayRegionEntry,
  replayTopics,
  startRegion,
  type LocalRegion,
} from '../../dev/regions';
import { TOPICS } from '../../shared/src/messages/topics';
import { deepMerge, type JsonTree } from '../../shared/src/runtime/host/config-tree';
import { defaultConfiguration, loadRecipe } from '../../shared/src/runtime/host/recipe';
import { REPO_ROOT } from '../support/child';
import { STATUS_COMPONENT_NAME as STATUS, statusPageUrl } from '../../dev/suite';
import type { StatusSnapshot } from '../../components/status/src/core/status-model';
import { eventually } from '../support/ipc';
import { NucleusLite, nucleusLiteKit } from '../support/nucleus-lite';
import { FAST_REPLAY } from '../support/replay';
import { useTempDir } from '../support/temp-dir';

/**
 * The suite under AWS IoT Greengrass nucleus lite's own daemons: the recipes as they are in recipes/,
 * the built amd64 zips, each component's phases run by nucleus lite's recipe-runner. Readings published
 * over IPC by a client component must reach the store, Inference must see every committed reading and
 * raise an anomaly for an injected fault, Replay must deliver to a TLS region, a configuration change
 * written into ggconfigd must be applied, and the same must hold with YAML-typed (all-text) configuration.
 * The optional status page runs beside them once and must show what they publish.
 */
const availability = nucleusLiteKit();
const kit = 'kit' in availability ? availability.kit : undefined;
if (kit === undefined)
  console.warn(`nucleus lite scenario skipped: ${'skipped' in availability ? availability.skipped : ''}`);

jest.setTimeout(300_000);

const THING = 'gw-lite';
const SUITE = ['com.edgedr.Buffer', 'com.edgedr.Ingest', 'com.edgedr.Inference', 'com.edgedr.Replay'];
const PROBED = [
  TOPICS.ingestMetrics,
  TOPICS.inferenceMetrics,
  TOPICS.inferenceAlerts,
  TOPICS.replayStatus,
  TOPICS.bufferMetrics,
];
const SDK = join(REPO_ROOT, 'node_modules', 'aws-iot-device-sdk-v2');

/** A client component in plain JavaScript over the SDK's IPC client, as a user's own would be. */
const CLIENT = `
const { greengrasscoreipc, io } = require(${JSON.stringify(SDK)});
function connect() {
  const client = greengrasscoreipc.createClient({
    hostName: process.env.AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT,
    port: 0,
    socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.LOCAL),
    connectTransform: async (t) => { t.message.payload = JSON.stringify({ authToken: process.env.SVCUID }); return t.message; },
  });
  return client.connect().then(() => client);
}
process.on('SIGTERM', () => process.exit(0));
`;

/** Publishes the readings of a file, one message per reading, paced; then writes how many it sent. */
const SENSOR = `${CLIENT}
const fs = require('fs');
const [readingsFile, doneFile] = process.argv.slice(2);
const readings = JSON.parse(fs.readFileSync(readingsFile, 'utf8'));
connect().then(async (client) => {
  let sent = 0;
  for (const r of readings) {
    await client.publishToTopic({ topic: r.topic, publishMessage: { jsonMessage: { message: r.message } } });
    sent += 1;
    if (sent % 50 === 0) await new Promise((res) => setTimeout(res, 20));
  }
  fs.writeFileSync(doneFile, String(sent));
  setInterval(() => {}, 1000);
});
`;

/** Writes every message on the given topics to a file, one JSON line each. */
const PROBE = `${CLIENT}
const fs = require('fs');
const [outFile, ...topics] = process.argv.slice(2);
connect().then(async (client) => {
  for (const topic of topics) {
    const op = client.subscribeToTopic({ topic });
    op.on('message', (m) => {
      const line = m.binaryMessage !== undefined
        ? { topic, binary: Buffer.from(m.binaryMessage.message).toString('utf8') }
        : { topic, json: m.jsonMessage.message };
      fs.appendFileSync(outFile, JSON.stringify(line) + '\\n');
    });
    await op.activate();
  }
  // What another component's configuration looks like to a component, as the nucleus typed it.
  const seen = await client.getConfiguration({ componentName: 'com.edgedr.Replay', keyPath: ['batching'] });
  fs.appendFileSync(outFile, JSON.stringify({ topic: 'config', json: seen.value }) + '\\n');
  console.log('probe subscribed');
  setInterval(() => {}, 1000);
});
`;

function clientRecipe(name: string, script: string, acl: JsonTree): string {
  return JSON.stringify({
    RecipeFormatVersion: '2020-01-25',
    ComponentName: name,
    ComponentVersion: '1.0.0',
    ComponentConfiguration: { DefaultConfiguration: { accessControl: acl } },
    Manifests: [{ Platform: { os: 'linux', runtime: '*' }, Lifecycle: { run: script } }],
  });
}

function pubsub(id: string, operation: string, resources: readonly string[]): JsonTree {
  return {
    'aws.greengrass.ipc.pubsub': {
      [id]: { policyDescription: id, operations: [`aws.greengrass#${operation}`], resources: [...resources] },
    },
  };
}

(kit === undefined ? describe.skip : describe)("the suite under nucleus lite's own daemons", () => {
  let artifacts = '';
  let nucleus: NucleusLite | undefined;
  let region: LocalRegion | undefined;
  let cloud: RegionConsumer | undefined;
  afterEach(async () => {
    await nucleus?.stop();
    await cloud?.close();
    await region?.stop();
    nucleus = undefined;
    cloud = undefined;
    region = undefined;
  });
  // After the hook above: jest runs afterEach hooks in declaration order, and the nucleus must stop first.
  const tempDir = useTempDir('ggdr-gglite-');

  beforeAll(async () => {
    artifacts = mkdtempSync(join(tmpdir(), 'ggdr-gglite-build-'));
    await buildComponents(['amd64'], artifacts);
  });
  afterAll(() => rmSync(artifacts, { recursive: true, force: true }));

  /** The readings of two pumps, pump-1 with a closing valve in the middle, as client devices send them. */
  function readings(count: number, fault: boolean): { topic: string; message: Record<string, number> }[] {
    const sim = new PumpSimulator(20261203, ['pump-1', 'pump-2'], Date.now() - count * 1_000);
    const out: { topic: string; message: Record<string, number> }[] = [];
    for (let t = 0; t < count; t++) {
      if (fault && t === Math.floor(count / 2)) sim.injectFault('pump-1', 'valve', 60_000);
      for (const r of sim.next())
        out.push({ topic: `sensors/${r.deviceId}/telemetry`, message: { ts: r.tsMs, ...r.measurements } });
    }
    return out;
  }

  async function start(
    typing: 'json' | 'yaml',
    perPump: number,
    withStatus = false,
  ): Promise<{ probe: string; done: string; sent: number }> {
    const root = join(tempDir(), `root-${typing}`);
    const dir = join(tempDir(), `clients-${typing}`);
    mkdirSync(dir, { recursive: true });
    region = await startRegion(tempDir(), `region-${typing}`, {
      clients: ['replay', 'cloud'],
      acl: { replay: replayTopics(THING), cloud: CONSUMER_TOPICS },
    });
    cloud = await RegionConsumer.connect(region, 'cloud', CONSUMER_TOPICS);
    const data = readings(perPump, true);
    writeFileSync(join(dir, 'readings.json'), JSON.stringify(data));
    writeFileSync(join(dir, 'sensor.js'), SENSOR);
    writeFileSync(join(dir, 'probe.js'), PROBE);
    const probe = join(dir, 'probe.jsonl');
    const done = join(dir, 'sent');
    writeFileSync(
      join(dir, 'com.test.Sensor.yaml'),
      clientRecipe(
        'com.test.Sensor',
        `node ${join(dir, 'sensor.js')} ${join(dir, 'readings.json')} ${done}`,
        pubsub('com.test.Sensor:pub', 'PublishToTopic', [
          'sensors/pump-1/telemetry',
          'sensors/pump-2/telemetry',
        ]),
      ),
    );
    writeFileSync(
      join(dir, 'com.test.Probe.yaml'),
      clientRecipe(
        'com.test.Probe',
        `node ${join(dir, 'probe.js')} ${probe} ${PROBED.join(' ')}`,
        pubsub('com.test.Probe:sub', 'SubscribeToTopic', PROBED),
      ),
    );
    const defaults = (name: string): JsonTree =>
      defaultConfiguration(loadRecipe(join(REPO_ROOT, 'recipes', `${name}.yaml`)));
    const overrides: Record<string, JsonTree> = {
      'com.edgedr.Buffer': { metricsIntervalMs: 500 },
      'com.edgedr.Ingest': { metricsIntervalMs: 500 },
      'com.edgedr.Inference': { metricsIntervalMs: 500, flushMs: 20, calibration: { onStart: false } },
      'com.edgedr.Replay': {
        ...FAST_REPLAY,
        regions: [replayRegionEntry(region, THING, 0, { iotCoreFlowControl: false })],
      },
    };
    // Each component's DefaultConfiguration merged with the test's values, as a deployment would leave it.
    const configuration: Record<string, JsonTree> = {};
    if (withStatus) overrides[STATUS] = { port: 0, pushIntervalMs: 500, probeIntervalMs: 1_000 };
    for (const name of withStatus ? [...SUITE, STATUS] : SUITE)
      configuration[name] = deepMerge(defaults(name), overrides[name] ?? {}) as JsonTree;
    for (const name of ['com.test.Sensor', 'com.test.Probe'])
      configuration[name] = defaultConfiguration(loadRecipe(join(dir, `${name}.yaml`)));
    nucleus = await NucleusLite.start({
      kit: kit!,
      root,
      recipesDirs: [join(REPO_ROOT, 'recipes'), dir],
      artifactsDir: join(artifacts, 'artifacts'),
      configuration,
      typing,
      thingName: THING,
    });
    for (const name of [...SUITE, 'com.test.Probe', ...(withStatus ? [STATUS] : [])])
      nucleus.startComponent(name);
    const n = nucleus;
    const says = (name: string, line: string): boolean =>
      n.state(name) === 'running' &&
      existsSync(n.logPath(name)) &&
      readFileSync(n.logPath(name), 'utf8').includes(line);
    // Generous: on a busy machine (the other test workers) four Node processes start slowly.
    await eventually(
      () => SUITE.every((name) => says(name, '"msg":"running"')),
      150_000,
      'the suite RUNNING',
    ).catch((err: Error) => {
      const late = SUITE.filter((name) => !says(name, '"msg":"running"')).map((name) => {
        const log = existsSync(n.logPath(name))
          ? readFileSync(n.logPath(name), 'utf8').trim().split('\n')
          : [];
        return `${name} (${n.state(name)}): ${log.slice(-3).join(' | ')}`;
      });
      throw new Error(`${err.message}; not running: ${late.join('; ')}`);
    });
    // The probe subscribes before readings flow.
    await eventually(() => says('com.test.Probe', 'probe subscribed'), 20_000, 'the probe subscribed');
    nucleus.startComponent('com.test.Sensor');
    return { probe, done, sent: data.length };
  }

  const probed = (file: string, topic: string): Record<string, unknown>[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { topic: string; binary?: string; json?: unknown })
          .filter((m) => m.topic === topic)
          .map((m) => (m.binary !== undefined ? JSON.parse(m.binary) : m.json) as Record<string, unknown>)
      : [];
  const last = (file: string, topic: string): Record<string, unknown> | undefined =>
    probed(file, topic).at(-1);
  const telemetry = (): number => cloud!.records().filter((r) => r.lane === 'telemetry').length;

  it('runs from the recipes and zips as they are: readings stored, analysed and delivered; a configuration change applied; the status page shows it', async () => {
    const { probe, done, sent } = await start('json', 240, true);
    const n = nucleus!;
    await eventually(() => existsSync(done), 60_000, 'the sensor to send its readings');
    expect(Number(readFileSync(done, 'utf8'))).toBe(sent);

    // Stored: Ingest accepted every reading; Inference received every committed record.
    await eventually(
      () =>
        last(probe, TOPICS.ingestMetrics)?.['accepted'] !== undefined &&
        Number(last(probe, TOPICS.ingestMetrics)?.['accepted']) >= sent,
      30_000,
      'Ingest to store every reading',
    );
    const stored = Number(last(probe, TOPICS.ingestMetrics)?.['accepted']);
    await eventually(
      () => Number(last(probe, TOPICS.inferenceMetrics)?.['liveRecords'] ?? 0) >= stored,
      30_000,
      'Inference to receive every committed record',
    );
    // Exactly what was committed, no more: the two components publish their metrics on timers of their
    // own, and Ingest also commits Inference's anomaly events (which come back to Inference as live
    // records), so the two counts are compared once both documents have caught up.
    await eventually(
      () =>
        Number(last(probe, TOPICS.inferenceMetrics)?.['liveRecords']) ===
        Number(last(probe, TOPICS.ingestMetrics)?.['accepted']),
      30_000,
      'Inference to have received exactly what Ingest committed',
    ).catch((err: unknown) => {
      const counts = `liveRecords ${String(last(probe, TOPICS.inferenceMetrics)?.['liveRecords'])}, accepted ${String(last(probe, TOPICS.ingestMetrics)?.['accepted'])}`;
      throw new Error(`${(err as Error).message}: ${counts}`);
    });
    expect(last(probe, TOPICS.inferenceMetrics)?.['badLiveMessages']).toBe(0);

    // The injected fault: an onset for pump-1 on the alert topic, and the event in the alert lane upstream.
    await eventually(
      () =>
        probed(probe, TOPICS.inferenceAlerts).some((e) => e['state'] === 'onset' && e['asset'] === 'pump-1'),
      30_000,
      'an anomaly onset for pump-1',
    );
    await eventually(
      () =>
        cloud!.records().some((r) => r.lane === 'alert' && r.stream === 'anomaly' && r.deviceId === 'pump-1'),
      30_000,
      'the anomaly delivered in the alert lane',
    );

    // Delivered to the TLS region, every reading once.
    await eventually(() => telemetry() >= sent, 60_000, 'every reading delivered');
    expect(new Set(cloud!.records().map((r) => r.id)).size).toBe(cloud!.records().length);

    // A deployment's change written into ggconfigd: Replay pauses, then resumes.
    n.writeConfig('com.edgedr.Replay', ['configuration', 'paused'], true);
    await eventually(() => last(probe, TOPICS.replayStatus)?.['paused'] === true, 20_000, 'Replay paused');
    const before = telemetry();
    nucleus!.writeConfig('com.edgedr.Replay', ['configuration', 'paused'], false);
    await eventually(() => last(probe, TOPICS.replayStatus)?.['paused'] === false, 20_000, 'Replay resumed');
    expect(telemetry()).toBe(before);

    // The status page, from what the suite publishes through ggpubsubd and the others' configuration
    // read through ggconfigd: every component reporting at its configured interval, the region active.
    const url = await statusPageUrl(n.logPath(STATUS), 60_000);
    const shows = (page: StatusSnapshot): boolean =>
      page.components.length === SUITE.length &&
      page.components.every((c) => c.state === 'reporting' && c.intervalSource === 'configuration') &&
      page.replay?.activeRegion === region!.name &&
      page.replay.regions.some((r) => r.name === region!.name && r.status === 'healthy') &&
      page.anomalies.assets.some((a) => a.asset === 'pump-1' && a.onsetsInWindow > 0);
    let page: StatusSnapshot | undefined;
    for (const deadline = Date.now() + 30_000; page === undefined || !shows(page);) {
      if (Date.now() > deadline)
        throw new Error(`the status page did not show the suite: ${JSON.stringify(page).slice(0, 2_000)}`);
      await new Promise((r) => setTimeout(r, 500));
      page = (await (await fetch(`${url}api/status`)).json()) as StatusSnapshot;
    }
    expect((await fetch(url)).status).toBe(200);

    // Nothing crashed or restarted along the way, and nothing was too large for the nucleus.
    for (const name of [...SUITE, STATUS]) {
      expect(n.state(name)).toBe('running');
      expect(n.starts(name)).toBe(1);
      const log = readFileSync(n.logPath(name), 'utf8');
      expect(log).not.toContain('IPC_MESSAGE_TOO_LARGE');
      expect(log).not.toContain('"level":"error"');
    }
    expect(readFileSync(n.logPath('ggipcd'), 'utf8')).not.toContain('Insufficient memory to decode packet');
  });

  it('runs with YAML-typed configuration, every value as text', async () => {
    const { probe, done, sent } = await start('yaml', 120);
    const n = nucleus!;
    await eventually(() => existsSync(done), 60_000, 'the sensor to send its readings');
    await eventually(() => telemetry() >= sent, 60_000, 'every reading delivered');
    await eventually(() => last(probe, TOPICS.replayStatus) !== undefined, 20_000, 'Replay status');
    // nucleus lite's YAML reader made every value text (pinnedRegion: null arrived as "null")...
    expect(last(probe, 'config')?.['maxInFlight']).toBe('4');
    // ...and the components took them as their schemas mean them.
    expect(last(probe, TOPICS.replayStatus)).toMatchObject({ pinnedRegion: null, paused: false });
    expect(Number(last(probe, TOPICS.inferenceMetrics)?.['refusedModels'] ?? 1)).toBe(0);
    for (const name of SUITE) {
      expect(n.state(name)).toBe('running');
      expect(n.starts(name)).toBe(1);
      expect(readFileSync(n.logPath(name), 'utf8')).not.toContain('"level":"error"');
    }
  });
});
