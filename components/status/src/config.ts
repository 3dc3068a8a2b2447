import { z } from 'zod';
import { cfg } from '../../../shared/src/config';
import { TOPICS } from '../../../shared/src/messages/topics';

export const STATUS_COMPONENT = 'com.edgedr.Status';
export const STATUS_VERSION = '0.1.0';

const topicsSchema = z.strictObject({
  bufferMetrics: z.string().min(1).default(TOPICS.bufferMetrics),
  bufferEvents: z.string().min(1).default(TOPICS.bufferEvents),
  ingestMetrics: z.string().min(1).default(TOPICS.ingestMetrics),
  inferenceMetrics: z.string().min(1).default(TOPICS.inferenceMetrics),
  inferenceAlerts: z.string().min(1).default(TOPICS.inferenceAlerts),
  replayStatus: z.string().min(1).default(TOPICS.replayStatus),
});

/** The status page's configuration; recipes/com.edgedr.Status.yaml's DefaultConfiguration must parse with it. */
export const statusConfigSchema = z.strictObject({
  /**
   * Where the page listens. Loopback (127.0.0.0/8, ::1, localhost) by default; any other address
   * (a LAN interface, 0.0.0.0) is refused unless `tokenPath` is set.
   */
  listenAddress: z.string().min(1).default('127.0.0.1'),
  /** 0: any free port (the log line `status page listening` names it). */
  port: cfg.int((n) => n.min(0).max(65_535)).default(8470),
  /**
   * A file holding the access token (one line, at least 16 characters), readable by the component's
   * user only (mode 0600 or stricter). Null: no token, which only loopback allows.
   */
  tokenPath: cfg.nullable(z.string().min(1)).default(null),
  /**
   * Serve HTTPS with this certificate (PEM: the server's, then any intermediates) and key (PEM,
   * unencrypted, mode 0600 or stricter). Both files are re-read when they change, so a renewed
   * certificate applies without a restart. Null: plain HTTP, which is enough on loopback; on a LAN
   * address the token then crosses the network in clear.
   */
  tls: cfg
    .nullable(z.strictObject({ certPath: z.string().min(1), keyPath: z.string().min(1) }))
    .default(null),
  /** How much the charts show, and the length of one chart point. */
  historyMs: cfg.int((n) => n.min(60_000).max(6 * 3_600_000)).default(3_600_000),
  bucketMs: cfg.int((n) => n.min(1_000).max(600_000)).default(10_000),
  /** How often the open pages get an update (Server-Sent Events). */
  pushIntervalMs: cfg.int((n) => n.min(250).max(60_000)).default(2_000),
  /** A component silent for this many of its publishing intervals is shown as silent. */
  staleAfterIntervals: cfg.number((n) => n.min(1.5).max(100)).default(3),
  /** Drain and ingest rates are averaged over this long. */
  rateWindowMs: cfg.int((n) => n.min(1_000).max(600_000)).default(30_000),
  /** How often the free disk under the store and the components' configurations are read. */
  probeIntervalMs: cfg.int((n) => n.min(1_000).max(600_000)).default(10_000),
  /** Open pages (live connections) at most; more are refused with 503. */
  maxClients: cfg.int((n) => n.min(1).max(64)).default(8),
  topics: topicsSchema.default(topicsSchema.parse({})),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type StatusConfig = z.output<typeof statusConfigSchema>;
export type StatusTopics = StatusConfig['topics'];
