import { z } from 'zod';
import { TOPICS } from '../../../shared/src/messages/topics';
import { cfg } from '../../../shared/src/config';
import { DEFAULT_MAX_ENVELOPE_BYTES, IOT_CORE_MAX_PAYLOAD_BYTES } from '../../../shared/src/envelope';
import {
  COMMAND_TYPES,
  DEFAULT_CLOUD_TOPICS as T,
  DEFAULT_SHADOW_NAME,
  fillTopic,
} from '../../../shared/src/messages/cloud';
import { regionsSchema } from './regions';

export const REPLAY_COMPONENT = 'com.edgedr.Replay';
export const REPLAY_VERSION = '0.1.0';

const KiB = 1024;

/**
 * Upstream topics. `{thing}` is replaced by the thing name, so one configuration serves a whole thing
 * group. The defaults are what the least-privilege IoT policy in docs/deployment.md allows.
 */
const topicsSchema = z.strictObject({
  batches: z.string().min(1).default(T.batches),
  presence: z.string().min(1).default(T.presence),
  probe: z.string().min(1).default(T.probe),
  commands: z.string().min(1).default(T.commands),
  commandReplies: z.string().min(1).default(T.commandReplies),
  /** The DR named shadow's update topic. */
  shadowUpdate: z.string().min(1).default(T.shadowUpdate),
});

/** Connection timing. IoT Core accepts keep-alive between 30 and 1200 s, so black holes are found by probes and publish timeouts. */
const connectionSchema = z.strictObject({
  keepAliveSeconds: cfg.int((n) => n.min(5).max(1200)).default(30),
  pingTimeoutMs: cfg.int((n) => n.min(500).max(60_000)).default(3_000),
  /** A QoS1 publish (batch or probe) without PUBACK after this long counts as a failure. */
  ackTimeoutSeconds: cfg.int((n) => n.min(1).max(60)).default(3),
  /** TCP connect, TLS handshake and CONNACK each; a region that has not connected by then is diagnosed. */
  connectTimeoutMs: cfg.int((n) => n.min(500).max(60_000)).default(5_000),
  minReconnectDelayMs: cfg.int((n) => n.min(100)).default(1_000),
  maxReconnectDelayMs: cfg.int((n) => n.min(100)).default(10_000),
});

const healthSchema = z.strictObject({
  /** Publish timeouts or failed probes in a row that make a connected region down. */
  maxConsecutiveFailures: cfg.int((n) => n.min(1).max(100)).default(2),
  /** How long to slow down after IoT Core answers 0x97 quota exceeded. */
  quotaBackoffMs: cfg.int((n) => n.min(100)).default(5_000),
  /** A misconfigured region (0x87, 0x90, certificate problems) is retried after this long. */
  misconfiguredRetryMs: cfg.int((n) => n.min(1_000)).default(300_000),
  /** Probes on warm standbys, and on the active region while it has nothing to send. */
  probeIntervalMs: cfg.int((n) => n.min(200)).default(5_000),
  /** A preferred region must have been healthy this long before traffic fails back to it. */
  failbackHoldMs: cfg.int((n) => n.min(0)).default(60_000),
});

const batchingSchema = z.strictObject({
  /** Each publish's payload stays under this (IoT Core: 128 KB per message, minus room for the topic and properties). */
  maxEnvelopeBytes: cfg
    .int((n) => n.min(4 * KiB).max(IOT_CORE_MAX_PAYLOAD_BYTES - KiB))
    .default(DEFAULT_MAX_ENVELOPE_BYTES),
  /**
   * The envelope encoding: 2 (columnar, compacted blocks sent as stored) or 1 (gzipped JSON, for a
   * consumer that reads only v1; every block is then re-encoded).
   */
  envelopeVersion: cfg
    .int((n) => n.min(1).max(2))
    .default(2)
    .transform((v) => v as 1 | 2),
  /** Envelopes published and not yet acknowledged (IoT Core allows 100 in flight per connection). */
  maxInFlight: cfg.int((n) => n.min(1).max(100)).default(4),
  /** Upper bound of the records one read packs from rows (compacted blocks go as they are stored). */
  maxReadRecords: cfg.int((n) => n.min(1).max(100_000)).default(20_000),
  /** How often an empty store is polled for new records. */
  pollIntervalMs: cfg.int((n) => n.min(10).max(10_000)).default(200),
  /** A region's drain links disconnect once the backlog has been empty this long. */
  drainLinkIdleMs: cfg.int((n) => n.min(0)).default(30_000),
});

/**
 * Hedged sends: an envelope whose PUBACK is late against what its connection normally takes (mean +
 * 4 deviations of recent PUBACK times, within these bounds) also goes to the best warm standby.
 */
const hedgingSchema = z
  .strictObject({
    enabled: cfg.bool().default(true),
    /** Never hedge sooner than this after a send. */
    minDelayMs: cfg.int((n) => n.min(10)).default(200),
    /**
     * Never later than this (also the delay before a connection has shown its own timing), and never
     * later than three quarters of the ack timeout, so a hedge gets ahead of the failure.
     */
    maxDelayMs: cfg.int((n) => n.min(10)).default(2_000),
    /** Hedged envelopes outstanding at once: bounds the duplicates the cloud may see. */
    maxInFlight: cfg.int((n) => n.min(1).max(100)).default(2),
  })
  .superRefine((h, ctx) => {
    if (h.minDelayMs > h.maxDelayMs)
      ctx.addIssue({ code: 'custom', path: ['minDelayMs'], message: `at most maxDelayMs (${h.maxDelayMs})` });
  });

const commandsSchema = z.strictObject({
  /** Command types accepted from the cloud; others are refused as unauthorized. */
  allowed: z.array(z.enum(COMMAND_TYPES)).default([...COMMAND_TYPES]),
  /** Commands issued longer ago than this are stale even when their expiry is later (clock skew guard). */
  maxAgeMs: cfg.int((n) => n.min(1_000)).default(300_000),
  /** How far in the future a command's issuedAtMs may lie: the gateway's and the cloud's clocks differ by at most this. */
  maxFutureSkewMs: cfg.int((n) => n.min(0).max(300_000)).default(5_000),
  /** Where Inference listens for a recalibrate command, on the local pub/sub bus. */
  inferenceTopic: z.string().min(1).default(TOPICS.inferenceCommands),
});

export const replayConfigSchema = z
  .strictObject({
    /** The upstream regions; a deployment sets them (see docs/deployment.md). */
    regions: regionsSchema.default([]),
    /** An operator's pin: only this region is used (also settable by command). */
    pinnedRegion: cfg.nullable(z.string().min(1)).default(null),
    /** When true, nothing is sent upstream (data waits in the store); also settable by command. */
    paused: cfg.bool().default(false),
    topics: topicsSchema.default(topicsSchema.parse({})),
    connection: connectionSchema.default(connectionSchema.parse({})),
    health: healthSchema.default(healthSchema.parse({})),
    batching: batchingSchema.default(batchingSchema.parse({})),
    hedging: hedgingSchema.default(hedgingSchema.parse({})),
    commands: commandsSchema.default(commandsSchema.parse({})),
    shadow: z
      .strictObject({
        name: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{1,64}$/)
          .default(DEFAULT_SHADOW_NAME),
        /** The reported state is sent on change, at most this often. */
        minIntervalMs: cfg.int((n) => n.min(500)).default(10_000),
      })
      .default({ name: DEFAULT_SHADOW_NAME, minIntervalMs: 10_000 }),
    /** Local status for the gateway's own dashboards (active region, health, counters). */
    statusTopic: z.string().min(1).default(TOPICS.replayStatus),
    statusIntervalMs: cfg.int((n) => n.min(100)).default(5_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.pinnedRegion !== null && !c.regions.some((r) => r.name === c.pinnedRegion))
      ctx.addIssue({
        code: 'custom',
        path: ['pinnedRegion'],
        message: `pinnedRegion ${c.pinnedRegion} is not one of the configured regions`,
      });
  });

export type ReplayConfig = z.output<typeof replayConfigSchema>;

/** Topics with `{thing}` (and `{shadow}`) filled in. */
export function resolveTopics(config: ReplayConfig, thingName: string): ReplayConfig['topics'] {
  const fill = (t: string): string => fillTopic(t, thingName, config.shadow.name);
  const t = config.topics;
  return {
    batches: fill(t.batches),
    presence: fill(t.presence),
    probe: fill(t.probe),
    commands: fill(t.commands),
    commandReplies: fill(t.commandReplies),
    shadowUpdate: fill(t.shadowUpdate),
  };
}
