/**
 * `npm run bench -- encoding [--records=300000] [--seconds=20] [--skab=DIR]`
 *
 * The upstream encodings on realistic data: SKAB-like readings (200 pumps, the sensors' own decimals)
 * and the simulator's regular readings (what the replay benchmark sends). For envelope v1 (JSON + gzip)
 * and v2 (columnar + gzip), packed the way Replay packs (reads of 20,000 records, 124 KiB envelopes):
 * wire bytes per record (payload and MQTT publish overhead), encode CPU per MB of records, and the
 * records/s that fit IoT Core's 512 KiB/s. Then v2 envelopes of SKAB-like data are published for real
 * through the SDK's MQTT5 client with IoT Core flow control on, to a local TLS region, which measures
 * the fraction of the ceiling reached; the 24 h catch-up time follows from it.
 */
import { iot, mqtt5 } from 'aws-iot-device-sdk-v2';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { argValue } from '../dev/args';
import { replayTopics, startRegion } from '../dev/regions';
import { DEFAULT_SKAB_DIR, SkabFleet } from '../dev/skab-fleet';
import {
  decodeEnvelope,
  DEFAULT_MAX_ENVELOPE_BYTES,
  packEnvelopes,
  type Envelope,
  type EnvelopeVersion,
} from '../shared/src/envelope';
import type { DrRecord } from '../shared/src/record';
import { BENCH_THING, option, pumpMeasurements } from './common';
import { fmt, printTable } from './table';

const CEILING_BYTES_PER_SEC = 512 * 1024; // IoT Core: 512 KiB/s per connection
const PUBLISHES_PER_SEC = 100; // IoT Core: 100 publishes/s per connection
const READ_RECORDS = 20_000; // what Replay reads at once
const TOPIC = `edgedr/${BENCH_THING}/batches`;
const DAY_RECORDS = 86_400 * 200;
const LIVE_RATE = 200;

/** Minutes to deliver a 24 h backlog at 200 readings/s while live data keeps arriving at that rate. */
export function catchUp24hMinutes(recordsPerSec: number): number {
  return DAY_RECORDS / Math.max(1, recordsPerSec - LIVE_RATE) / 60;
}

/** Bytes of an MQTT 5 PUBLISH beyond its payload: fixed header, topic, packet id, properties. */
export function publishOverhead(
  userProperties: readonly { readonly name: string; readonly value: string }[],
  topic = TOPIC,
): number {
  const props =
    userProperties.reduce((n, p) => n + 1 + 2 + p.name.length + 2 + p.value.length, 0) +
    1 +
    2 +
    'application/octet-stream'.length;
  return 1 + 4 + 2 + topic.length + 2 + 2 + props;
}

export interface Encoded {
  readonly wireBytesPerRecord: number;
  readonly payloadBytesPerRecord: number;
  readonly encodeMsPerMb: number;
  readonly decodeMsPerMb: number;
  readonly recordsPerSecAtCeiling: number;
  readonly recordsPerEnvelope: number;
  readonly envelopes: Envelope[];
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Packs records as Replay does and measures the result (exported for the replay benchmark). */
export function measure(records: readonly DrRecord[], version: EnvelopeVersion): Encoded {
  const mb = records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0) / 1e6;
  const pack = (): Envelope[] => {
    const out: Envelope[] = [];
    let hint: number | undefined;
    for (let i = 0; i < records.length; i += READ_RECORDS) {
      const envs = packEnvelopes(
        BENCH_THING,
        records.slice(i, i + READ_RECORDS),
        DEFAULT_MAX_ENVELOPE_BYTES,
        {
          version,
          ...(hint === undefined ? {} : { bytesPerRecordHint: hint }),
        },
      );
      const last = envs.at(-1);
      if (last !== undefined) hint = last.payload.length / last.header.count;
      out.push(...envs);
    }
    return out;
  };
  pack(); // warm up
  let envelopes: Envelope[] = [];
  const encodeMs = cpuMs(() => {
    envelopes = pack();
  });
  const decodeMs = cpuMs(() => {
    for (const e of envelopes) decodeEnvelope(e.payload);
  });
  const payload = envelopes.reduce((n, e) => n + e.payload.length, 0);
  const wire = envelopes.reduce((n, e) => n + e.payload.length + publishOverhead(e.userProperties), 0);
  const wireBytesPerRecord = wire / records.length;
  const recordsPerEnvelope = records.length / envelopes.length;
  return {
    wireBytesPerRecord,
    payloadBytesPerRecord: payload / records.length,
    encodeMsPerMb: encodeMs / mb,
    decodeMsPerMb: decodeMs / mb,
    recordsPerSecAtCeiling: Math.min(
      CEILING_BYTES_PER_SEC / wireBytesPerRecord,
      PUBLISHES_PER_SEC * recordsPerEnvelope,
    ),
    recordsPerEnvelope,
    envelopes,
  };
}

export interface Published {
  readonly recordsPerSec: number;
  readonly payloadBytesPerSec: number;
  readonly publishes: number;
}

/** Publishes envelopes for `seconds` through the SDK with IoT Core flow control, 4 in flight (Replay's default). */
export async function publishLive(
  dir: string,
  envelopes: readonly Envelope[],
  seconds: number,
): Promise<Published> {
  const region = await startRegion(dir, 'region-a', {
    clients: ['replay'],
    acl: { replay: replayTopics(BENCH_THING) },
  });
  const files = region.files('replay');
  const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
    region.endpoint.host,
    files.certificatePath,
    files.privateKeyPath,
  );
  builder.withCertificateAuthorityFromPath(undefined, files.caPath);
  builder.withPort(region.endpoint.port);
  builder.withConnectProperties({ clientId: `${BENCH_THING}-encoding`, keepAliveIntervalSeconds: 60 });
  const client = new mqtt5.Mqtt5Client(builder.build());
  const connected = new Promise<void>((resolve, reject) => {
    client.once('connectionSuccess', () => resolve());
    client.once('connectionFailure', (e: mqtt5.ConnectionFailureEvent) =>
      reject(new Error(`could not connect to the local region: ${JSON.stringify(e.error)}`)),
    );
  });
  client.start();
  try {
    await connected;
    let at = 0;
    let records = 0;
    let bytes = 0;
    let publishes = 0;
    let started = 0;
    const deadline = (): number => started + seconds * 1000;
    const worker = async (): Promise<void> => {
      while (started === 0 || Date.now() < deadline()) {
        const e = envelopes[at++ % envelopes.length] as Envelope;
        await client.publish({
          topicName: TOPIC,
          qos: mqtt5.QoS.AtLeastOnce,
          payload: e.payload,
          userProperties: [...e.userProperties],
        });
        if (started === 0) {
          started = Date.now(); // the first PUBACK starts the clock (connection warm)
          continue;
        }
        records += e.header.count;
        bytes += e.payload.length;
        publishes += 1;
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    const elapsed = (Date.now() - started) / 1000;
    return { recordsPerSec: records / elapsed, payloadBytesPerSec: bytes / elapsed, publishes };
  } finally {
    const stopped = new Promise<void>((resolve) => client.once('stopped', () => resolve()));
    client.stop();
    await stopped;
    client.close();
    await region.stop();
  }
}

function simulatorRecords(count: number, startMs: number): DrRecord[] {
  // The replay benchmark's readings.
  return Array.from({ length: count }, (_, n) => ({
    id: `${BENCH_THING}:abcd1234:${n + 1}`,
    stream: 'pump/vibration',
    lane: 'telemetry' as const,
    deviceId: `pump-${n % 8}`,
    tsMs: startMs + n,
    body: pumpMeasurements(n),
  }));
}

export async function encodingBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const count = option(args, 'records', 300_000);
  const seconds = option(args, 'seconds', 20);
  const startMs = Date.UTC(2026, 0, 1);
  const fleet = new SkabFleet({ dir: argValue(args, '--skab') ?? DEFAULT_SKAB_DIR, startMs });
  const skab: DrRecord[] = fleet
    .nextRecords(count)
    .map((r, i) => ({ id: `${BENCH_THING}:abcd1234:${i + 1}`, ...r }));
  const sim = simulatorRecords(count, startMs);
  const results = {
    skabLike: { v1: measure(skab, 1), v2: measure(skab, 2) },
    simulator: { v1: measure(sim, 1), v2: measure(sim, 2) },
  };
  const dir = mkdtempSync(join(tmpdir(), 'ggdr-encoding-'));
  let live: Published | null = null;
  try {
    if (seconds > 0) live = await publishLive(dir, results.skabLike.v2.envelopes, seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = live?.recordsPerSec ?? results.skabLike.v2.recordsPerSecAtCeiling;
  const catchUpMinutes = catchUp24hMinutes(rate);
  const v1Rate = results.skabLike.v1.recordsPerSecAtCeiling;
  const fractionOfCeiling = live === null ? null : live.payloadBytesPerSec / CEILING_BYTES_PER_SEC;
  const row = (name: string, e: Encoded): [string, string] => [
    name,
    `${fmt(e.wireBytesPerRecord, 2)} B/record on the wire, ${fmt(e.recordsPerSecAtCeiling)} records/s at 512 KiB/s, encode ${fmt(e.encodeMsPerMb, 2)} ms/MB, decode ${fmt(e.decodeMsPerMb, 2)} ms/MB, ${fmt(e.recordsPerEnvelope)} per envelope`,
  ];
  printTable(`encoding: ${fmt(count)} records per data set`, [
    row('SKAB-like, v1 (JSON + gzip)', results.skabLike.v1),
    row('SKAB-like, v2 (columnar + gzip)', results.skabLike.v2),
    row('simulator, v1', results.simulator.v1),
    row('simulator, v2', results.simulator.v2),
    [
      'targets (SKAB-like, v2)',
      '>= 28,000 records/s (<= 18.7 B/record), encode <= 10 ms/MB, >= 90 % of 512 KiB/s',
    ],
    ...(live === null
      ? []
      : ([
          [
            'SKAB-like v2 published (flow control on)',
            `${fmt(live.recordsPerSec)} records/s, ${fmt(live.payloadBytesPerSec / 1024)} KiB/s = ${fmt((fractionOfCeiling ?? 0) * 100, 1)} % of 512 KiB/s, ${fmt(live.publishes)} publishes`,
          ],
        ] as [string, string][])),
    [
      '24 h at 200/s caught up (live data still arriving)',
      `${fmt(catchUpMinutes, 1)} min (v1: ${fmt(catchUp24hMinutes(v1Rate), 1)} min)`,
    ],
  ]);
  const figures = (e: Encoded, publishedRate?: number, fraction?: number | null) => ({
    recordsPerSec: Math.round(publishedRate ?? e.recordsPerSecAtCeiling),
    wireBytesPerRecord: Number(e.wireBytesPerRecord.toFixed(2)),
    fractionOfCeiling: fraction === undefined || fraction === null ? null : Number(fraction.toFixed(3)),
    encodeMsPerMb: Number(e.encodeMsPerMb.toFixed(2)),
  });
  const detail = (e: Encoded) => ({
    wireBytesPerRecord: Number(e.wireBytesPerRecord.toFixed(2)),
    payloadBytesPerRecord: Number(e.payloadBytesPerRecord.toFixed(2)),
    recordsPerSecAtCeiling: Math.round(e.recordsPerSecAtCeiling),
    encodeMsPerMb: Number(e.encodeMsPerMb.toFixed(2)),
    decodeMsPerMb: Number(e.decodeMsPerMb.toFixed(2)),
    recordsPerEnvelope: Math.round(e.recordsPerEnvelope),
  });
  return {
    records: count,
    // The figures bench/replay.ts reports once Replay sends envelope v2 (published: measured live).
    skabLike: figures(results.skabLike.v2, live?.recordsPerSec, fractionOfCeiling),
    simulator: figures(results.simulator.v2),
    catchUp24hMinutes: Number(catchUpMinutes.toFixed(1)),
    catchUp24hMinutesV1: Number(catchUp24hMinutes(v1Rate).toFixed(1)),
    published: live === null ? null : { ...live, seconds, inFlight: 4, flowControl: 'AwsIotCoreDefaults' },
    byEncoding: {
      skabLike: { v1: detail(results.skabLike.v1), v2: detail(results.skabLike.v2) },
      simulator: { v1: detail(results.simulator.v1), v2: detail(results.simulator.v2) },
    },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}
