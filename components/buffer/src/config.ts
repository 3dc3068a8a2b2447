import { z } from 'zod';
import { TOPICS } from '../../../shared/src/messages/topics';
import { cfg } from '../../../shared/src/config';
import { storeSettingsSchema } from '../../../shared/src/store';
import { DEFAULT_STORE_PATH } from '../../../shared/src/store/location';

export { BUFFER_COMPONENT } from '../../../shared/src/store/location';
export const BUFFER_VERSION = '0.1.0';

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
});

export type BufferConfig = z.output<typeof bufferConfigSchema>;
