import { z } from 'zod';
import { TOPICS } from '../../../shared/src/messages/topics';
import { cfg } from '../../../shared/src/config';

export const INGEST_COMPONENT = 'com.edgedr.Ingest';
export const INGEST_VERSION = '0.1.0';

const KiB = 1024;

/** How a message becomes a record. Payload fields win over topic levels when both are configured. */
export const mappingSchema = z.strictObject({
  /** Named topic levels, e.g. `sensors/{deviceId}/{stream}`; `+` matches a level without naming it. */
  topicPattern: z.string().min(1).optional(),
  deviceIdField: z.string().min(1).optional(),
  streamField: z.string().min(1).optional(),
  /** The stream when neither the topic nor the payload names one. */
  defaultStream: z
    .string()
    .regex(/^[A-Za-z0-9_.\-/]{1,128}$/)
    .default('telemetry'),
  /** Where the reading's time is; absent: the arrival time. */
  timestampField: z.string().min(1).optional(),
  timestampUnit: z.enum(['ms', 's', 'iso', 'auto']).default('auto'),
  /** Where the measurements object is; absent: every other field of the payload. */
  measurementsField: z.string().min(1).optional(),
  /** Readings stamped further in the future than this are refused (device clock wrong). */
  maxFutureSkewMs: cfg.int((n) => n.min(0)).default(300_000),
  /** Readings older than this are refused. */
  maxAgeMs: cfg.int((n) => n.min(1)).default(30 * 24 * 3_600_000),
});
export type Mapping = z.output<typeof mappingSchema>;

const mqttSourceSchema = z.strictObject({
  host: z.string().min(1),
  port: cfg.int((n) => n.min(1).max(65_535)).default(1883),
  topics: z.array(z.string().min(1)).min(1),
  clientId: z.string().min(1).default('edgedr-ingest'),
  tls: z
    .strictObject({
      caPath: z.string().min(1),
      certPath: z.string().min(1).optional(),
      keyPath: z.string().min(1).optional(),
      rejectUnauthorized: cfg.bool().default(true),
    })
    .optional(),
  username: z.string().optional(),
  passwordPath: z.string().optional(),
  reconnectMinMs: cfg.int((n) => n.min(100)).default(1_000),
  reconnectMaxMs: cfg.int((n) => n.min(100)).default(30_000),
  /** 5 lets the source set how many unacknowledged readings the broker may send (receive maximum). */
  protocolVersion: cfg.int((n) => n.min(4).max(5)).default(5),
  /**
   * Readings received and not yet acknowledged at most: each is acknowledged once committed. With MQTT
   * 3.1.1 the broker's own limit applies (Mosquitto's max_inflight_messages, 20 by default): set this to it,
   * so a commit starts as soon as the broker's window is full.
   */
  maxUnackedMessages: cfg.int((n) => n.min(1).max(65_535)).default(1_000),
});
export type MqttSourceConfig = z.output<typeof mqttSourceSchema>;

export const ingestConfigSchema = z.strictObject({
  sources: z
    .strictObject({
      /** Greengrass local pub/sub topic filters (client devices through the MQTT bridge, other components). */
      ipcTopics: z.array(z.string().min(1)).default(['sensors/#']),
      mqtt: mqttSourceSchema.optional(),
    })
    .default({ ipcTopics: ['sensors/#'] }),
  mapping: mappingSchema.default(mappingSchema.parse({})),
  /** When set, readings from other devices are refused. */
  allowedDevices: z.array(z.string().min(1)).optional(),
  maxPayloadBytes: cfg.int((n) => n.min(64).max(64 * KiB)).default(16 * KiB),
  flushIntervalMs: cfg.int((n) => n.min(1).max(10_000)).default(50),
  maxBatchRecords: cfg.int((n) => n.min(1).max(10_000)).default(500),
  /** Records waiting for a commit beyond this are refused (and counted) instead of growing memory. */
  maxQueuedRecords: cfg.int((n) => n.min(1)).default(50_000),
  /** Inference's anomaly events, stored in the alert lane. */
  anomalyTopic: z.string().min(1).default(TOPICS.inferenceAnomalies),
  /** Each committed batch, one message per batch, for Inference. */
  liveTopic: z.string().min(1).default(TOPICS.ingestLive),
  metricsTopic: z.string().min(1).default(TOPICS.ingestMetrics),
  metricsIntervalMs: cfg.int((n) => n.min(100)).default(10_000),
  /** At most one log line with a sample per reason in this interval. */
  rejectLogIntervalMs: cfg.int((n) => n.min(100)).default(10_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type IngestConfig = z.output<typeof ingestConfigSchema>;
