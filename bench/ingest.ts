import { spawn } from 'node:child_process';
import { liveBatchRecords } from '../shared/src/messages';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestConfigSchema } from '../components/ingest/src/config';
import { createMapper } from '../components/ingest/src/core/mapper';
import { systemClock } from '../shared/src/clock';
import { GroupCommitWriter, SqliteRecordStore, storeSettingsSchema } from '../shared/src/store';
import mqtt from 'mqtt';
import { mosquitto } from '../dev/mosquitto';
import { nodePidInGroup, rssBytes } from '../dev/proc';
import { benchGateway, option, pumpMeasurements } from './common';
import { fmt, printTable } from './table';

function payloads(count: number): { topic: string; bytes: Buffer }[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, n) => ({
    topic: `sensors/pump-${n % 8}/vibration`,
    bytes: Buffer.from(JSON.stringify({ ts: now - count + n, ...pumpMeasurements(n) })),
  }));
}

/** (a) parse, validate, map and append with group commit, in one process, against raw appends. */
async function pipeline(
  count: number,
): Promise<{ pipelineRecordsPerSec: number; appendRecordsPerSec: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ggdr-ingest-bench-'));
  try {
    const settings = storeSettingsSchema.parse({ maxStoreBytes: 4 * 1024 ** 3 });
    const config = ingestConfigSchema.parse({
      mapping: { topicPattern: 'sensors/{deviceId}/{stream}', timestampField: 'ts' },
      maxQueuedRecords: count + 1,
    });
    const input = payloads(count);
    const mapper = createMapper({ mapping: config.mapping, maxPayloadBytes: config.maxPayloadBytes });

    // The store's own append rate for the same records, pre-mapped, 1,000 per transaction.
    const raw = SqliteRecordStore.open({ path: join(dir, 'raw.db'), gatewayId: 'bench', settings });
    const mapped = input
      .map((p) => mapper(p.topic, p.bytes, Date.now()))
      .flatMap((r) => (r.ok ? [r.record] : []));
    let started = performance.now();
    for (let i = 0; i < mapped.length; i += 1_000) raw.append(mapped.slice(i, i + 1_000));
    const appendRecordsPerSec = mapped.length / ((performance.now() - started) / 1000);
    raw.close();

    const store = SqliteRecordStore.open({ path: join(dir, 'pipeline.db'), gatewayId: 'bench', settings });
    const writer = new GroupCommitWriter(store, {
      flushIntervalMs: config.flushIntervalMs,
      maxBatchRecords: 1_000,
      maxRetries: 3,
      retryBaseMs: 10,
      retryMaxMs: 100,
      clock: systemClock,
    });
    started = performance.now();
    const pending: Promise<readonly string[]>[] = [];
    for (const p of input) {
      const r = mapper(p.topic, p.bytes, Date.now());
      if (r.ok) pending.push(writer.append([r.record]));
    }
    await Promise.all(pending);
    const pipelineRecordsPerSec = pending.length / ((performance.now() - started) / 1000);
    await writer.close();
    store.close();
    return { pipelineRecordsPerSec, appendRecordsPerSec };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** (b) Buffer and Ingest from their recipes under the host; a real SDK client process publishes readings. */
async function endToEnd(
  count: number,
  window: number,
): Promise<{
  ipcRecordsPerSec: number;
  publishToCommitP50Ms: number;
  publishToCommitP99Ms: number;
  ingestRssStartBytes: number;
  ingestRssEndBytes: number;
}> {
  const root = mkdtempSync(join(tmpdir(), 'ggdr-ingest-e2e-'));
  const { host, launcher, close } = await benchGateway(
    root,
    { 'com.edgedr.Ingest': { maxQueuedRecords: count + 1 } },
    256 * 1024 * 1024,
  );
  try {
    const token = host.addComponent('com.bench.Sensors', {
      accessControl: {
        'aws.greengrass.ipc.pubsub': {
          'bench:s': { operations: ['aws.greengrass#PublishToTopic'], resources: ['sensors/*'] },
        },
      },
    }).token;
    await launcher.launch(['com.edgedr.Buffer', 'com.edgedr.Ingest']);
    await launcher.waitForState('com.edgedr.Ingest', 'RUNNING', 30_000);
    const ingestPid = nodePidInGroup(launcher.pid('com.edgedr.Ingest') ?? -1) ?? 0;
    const ingestRssStartBytes = rssBytes(ingestPid);
    const latencies: number[] = [];
    let firstSent = Infinity;
    let lastCommit = 0;
    let committed = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    host.subscribe('edgedr/ingest/live', (_topic, payload) => {
      // The live batch goes out right after its commit: its arrival marks the commit.
      const arrivedMs = Date.now();
      const records = liveBatchRecords(payload);
      for (const r of records) {
        const sentAt = Number(r.body['sentAt']);
        latencies.push(arrivedMs - sentAt);
        firstSent = Math.min(firstSent, sentAt);
      }
      committed += records.length;
      lastCommit = Math.max(lastCommit, arrivedMs);
      if (committed >= count) done();
    });
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, 'ipc-client.ts'),
          'publish-readings',
          host.socketPath,
          token,
          '-',
          String(count),
          String(window),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`publisher exited with ${String(code)}`)),
      );
    });
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (giveUp = setTimeout(r, 60_000)))]);
    clearTimeout(giveUp);
    latencies.sort((a, b) => a - b);
    return {
      ingestRssStartBytes,
      ingestRssEndBytes: rssBytes(ingestPid),
      ipcRecordsPerSec: committed / ((lastCommit - firstSent) / 1000),
      publishToCommitP50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
      publishToCommitP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    };
  } finally {
    await close();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * (c) The local MQTT source, which acknowledges each reading to the broker only once committed: a real
 * Mosquitto, a device publishing QoS 1 with `window` publishes in flight, readings/s committed. MQTT 5
 * lets the source take `maxUnackedMessages` before acknowledging; with MQTT 3.1.1 Mosquitto's own limit
 * (20 in flight) applies.
 */
async function mqttSource(count: number, protocolVersion: 4 | 5, window: number): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'ggdr-ingest-mqtt-'));
  // Mosquitto keeps at most max_queued_messages (1,000 by default) beyond those in flight for a client
  // and drops the rest: a site whose source acknowledges only after the commit sets it to 0 (no limit).
  const broker = await mosquitto(root, ['max_queued_messages 0']);
  const { host, launcher, close } = await benchGateway(root, {
    'com.edgedr.Ingest': {
      sources: {
        ipcTopics: [],
        mqtt: {
          host: '127.0.0.1',
          port: broker.port,
          topics: ['sensors/#'],
          clientId: `bench-ingest-${protocolVersion}`,
          protocolVersion,
          ...(protocolVersion === 4 ? { maxUnackedMessages: 20 } : {}),
        },
      },
    },
  });
  try {
    let committed = 0;
    let lastCommit = 0;
    host.subscribe('edgedr/ingest/live', (_t, payload) => {
      if (payload.kind !== 'json') return;
      committed += (payload.message as { records: unknown[] }).records.length;
      lastCommit = Date.now();
    });
    await launcher.launch(['com.edgedr.Buffer', 'com.edgedr.Ingest']);
    await launcher.waitForState('com.edgedr.Ingest', 'RUNNING', 30_000);
    await new Promise((r) => setTimeout(r, 1_000)); // the source connects and subscribes
    const device = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'bench-device',
    });
    const input = payloads(count);
    const started = Date.now();
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: window }, async () => {
          while (next < input.length) {
            const p = input[next++] as { topic: string; bytes: Buffer };
            await device.publishAsync(p.topic, p.bytes, { qos: 1 });
          }
        }),
      );
      const deadline = Date.now() + 120_000;
      while (committed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await device.endAsync(true);
    }
    if (committed < count) throw new Error(`only ${committed} of ${count} MQTT readings were committed`);
    return count / ((lastCommit - started) / 1000);
  } finally {
    await close();
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function ingestBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const count = option(args, 'records', 200_000);
  const e2eCount = option(args, 'e2e', 30_000);
  const window = option(args, 'window', 16);
  const mqttCount = option(args, 'mqtt', 20_000);
  const a = await pipeline(count);
  const b = await endToEnd(e2eCount, window);
  const mqtt5RecordsPerSec = mqttCount > 0 ? await mqttSource(mqttCount, 5, 100) : 0;
  const mqtt311RecordsPerSec = mqttCount > 0 ? await mqttSource(mqttCount, 4, 100) : 0;
  const ratio = a.pipelineRecordsPerSec / a.appendRecordsPerSec;
  printTable(
    `ingest: ${count} readings in-process; ${e2eCount} end to end with ${window} publishes in flight`,
    [
      [
        'pipeline: parse, validate, map, append',
        `${fmt(a.pipelineRecordsPerSec)} records/s (target >= 50,000)`,
      ],
      ['store append, same records', `${fmt(a.appendRecordsPerSec)} records/s`],
      ['pipeline / append', `${fmt(ratio, 2)} (target >= 0.5)`],
      ['end to end through the IPC host', `${fmt(b.ipcRecordsPerSec)} records/s`],
      [
        'publish to commit p50 / p99',
        `${fmt(b.publishToCommitP50Ms, 1)} / ${fmt(b.publishToCommitP99Ms, 1)} ms`,
      ],
      [
        'local MQTT source, acknowledged after commit',
        `MQTT 5: ${fmt(mqtt5RecordsPerSec)} records/s; MQTT 3.1.1 (20 in flight): ${fmt(mqtt311RecordsPerSec)} records/s`,
      ],
      [
        'Ingest RSS before / after the run',
        `${fmt(b.ingestRssStartBytes / 1e6, 1)} / ${fmt(b.ingestRssEndBytes / 1e6, 1)} MB`,
      ],
    ],
  );
  return {
    records: count,
    pipelineRecordsPerSec: Math.round(a.pipelineRecordsPerSec),
    appendRecordsPerSec: Math.round(a.appendRecordsPerSec),
    pipelineToAppendRatio: Number(ratio.toFixed(3)),
    e2eRecords: e2eCount,
    publishesInFlight: window,
    ipcRecordsPerSec: Math.round(b.ipcRecordsPerSec),
    publishToCommitP50Ms: Number(b.publishToCommitP50Ms.toFixed(1)),
    publishToCommitP99Ms: Number(b.publishToCommitP99Ms.toFixed(1)),
    mqttRecords: mqttCount,
    mqtt5RecordsPerSec: Math.round(mqtt5RecordsPerSec),
    mqtt311RecordsPerSec: Math.round(mqtt311RecordsPerSec),
    ingestRssStartBytes: b.ingestRssStartBytes,
    ingestRssEndBytes: b.ingestRssEndBytes,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}
