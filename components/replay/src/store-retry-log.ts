import { toDrError } from '../../../shared/src/errors';
import type { Logger } from '../../../shared/src/logger';

/**
 * Logs a store call that failed and will be retried. A store the Buffer has not created yet (the two
 * start together) is a wait, logged as a warning; anything else is an error.
 */
export function logStoreRetry(logger: Logger, err: unknown, what: string, fields: object = {}): void {
  const e = toDrError(err);
  if (e.code === 'STORE_UNAVAILABLE') logger.warn({ ...fields, err: e }, 'store not usable yet; retrying');
  else logger.error({ ...fields, err: e }, `${what} failed; retrying`);
}
