import type { LocalMessage } from '../../../shared/src/runtime/port';
import type { LiveRecord } from './core/inference';

/**
 * The records of one of Ingest's live batches (`{ records: [...] }`, committed before it was published).
 * The one place that knows the batch's wire format; anything else is not a batch.
 */
export function liveRecords(message: LocalMessage): readonly LiveRecord[] {
  if (message.kind !== 'json') return [];
  const records = (message.json as { records?: unknown } | null)?.records;
  return Array.isArray(records) ? (records as LiveRecord[]) : [];
}
