import { decodeLiveBatch } from '../../../shared/src/messages/live-batch';
import type { DrRecord } from '../../../shared/src/record';
import type { LocalMessage } from '../../../shared/src/runtime/port';

/**
 * The records of one of Ingest's live-batch messages (a batch envelope, committed before it was
 * published), or null when the message is not one. The one place that knows the batch's wire format.
 */
export function liveRecords(message: LocalMessage): readonly DrRecord[] | null {
  if (message.kind !== 'binary') return null;
  try {
    return decodeLiveBatch(message.bytes);
  } catch {
    return null;
  }
}
