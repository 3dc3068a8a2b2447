import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { DrError } from '../errors';
import { TOPICS } from '../messages/topics';
import type { LocalRuntime } from '../runtime/port';
import { storeSettingsSchema, type StoreSettings } from './settings';

/** The component that owns the store; its configuration says where the store is and how it is tuned. */
export const BUFFER_COMPONENT = 'com.edgedr.Buffer';
export const DEFAULT_STORE_PATH = 'store/records.db';
/** Set by the recipes of the store's other users: `{kernel:rootPath}/work/com.edgedr.Buffer`. */
export const BUFFER_WORK_PATH_ENV = 'EDGEDR_BUFFER_WORK_PATH';

const ownerView = z.object({
  storePath: z.string().min(1).default(DEFAULT_STORE_PATH),
  eventsTopic: z.string().min(1).default(TOPICS.bufferEvents),
  store: storeSettingsSchema.default(storeSettingsSchema.parse({})),
});

export interface StoreLocation {
  readonly path: string;
  readonly settings: StoreSettings;
  /** Where store events (evictions among them) are published, whichever component's handle saw them. */
  readonly eventsTopic: string;
}

/** Where the shared store is and its settings, read from the Buffer's configuration. */
export async function sharedStoreLocation(
  runtime: LocalRuntime,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StoreLocation> {
  const raw = await runtime.getConfiguration([], BUFFER_COMPONENT);
  const parsed = ownerView.safeParse(raw);
  if (!parsed.success) {
    throw new DrError(
      'CFG_INVALID',
      `the ${BUFFER_COMPONENT} configuration does not describe a store: ${parsed.error.message}`,
    );
  }
  const { storePath, store, eventsTopic } = parsed.data;
  if (isAbsolute(storePath)) return { path: storePath, settings: store, eventsTopic };
  const workPath = env[BUFFER_WORK_PATH_ENV];
  if (workPath === undefined || workPath === '') {
    throw new DrError(
      'CFG_INVALID',
      `${BUFFER_WORK_PATH_ENV} is not set: the recipe must set it to {kernel:rootPath}/work/${BUFFER_COMPONENT}`,
    );
  }
  return { path: join(workPath, storePath), settings: store, eventsTopic };
}
