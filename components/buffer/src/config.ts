import { z } from 'zod';
import { CLOUDWATCH_PUT_TOPIC } from '../../../shared/src/cloudwatch';
import { TOPICS } from '../../../shared/src/messages/topics';
import { cfg } from '../../../shared/src/config';
import { storeSettingsSchema } from '../../../shared/src/store';
import { DEFAULT_STORE_PATH } from '../../../shared/src/store/location';

export { BUFFER_COMPONENT } from '../../../shared/src/store/location';
export const BUFFER_VERSION = '0.1.0';

/**
 * Optional: the suite's figures as CloudWatch metrics through the aws.greengrass.Cloudwatch component
 * (deploy it too; the Greengrass device role needs cloudwatch:PutMetricData). Off by default.
 */
export const cloudWatchSchema = z.strictObject({
  enabled: cfg.bool().default(false),
  /** The CloudWatch component's input topic. */
  topic: z.string().min(1).default(CLOUDWATCH_PUT_TOPIC),
  namespace: z
    .string()
    .min(1)
    .max(255)
    .refine((n) => !n.startsWith('AWS/'), 'a namespace not under AWS/')
    .default('EdgeDR'),
  intervalMs: cfg.int((n) => n.min(1_000).max(3_600_000)).default(60_000),
  /** Where Replay's status (healthy regions, failovers) and Inference's alerts (anomalies) are read. */
  replayStatusTopic: z.string().min(1).default(TOPICS.replayStatus),
  alertTopic: z.string().min(1).default(TOPICS.inferenceAlerts),
});

/** The Buffer component's configuration; recipes/com.edgedr.Buffer.yaml's DefaultConfiguration must parse with it. */
export const bufferConfigSchema = z.strictObject({
  /** The shared store file; relative paths are under the component's work directory. */
  storePath: z.string().min(1).default(DEFAULT_STORE_PATH),
  store: storeSettingsSchema.default(storeSettingsSchema.parse({})),
  maintenanceIntervalMs: cfg.int((n) => n.min(100).max(3_600_000)).default(5_000),
  metricsIntervalMs: cfg.int((n) => n.min(100).max(3_600_000)).default(10_000),
  metricsTopic: z.string().min(1).default(TOPICS.bufferMetrics),
  eventsTopic: z.string().min(1).default(TOPICS.bufferEvents),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  cloudwatch: cloudWatchSchema.default(cloudWatchSchema.parse({})),
});

export type BufferConfig = z.output<typeof bufferConfigSchema>;
