import { decodeEnvelope, packEnvelopes } from '../envelope';
import type { DrRecord } from '../record';
import type { RoutedPayload } from './documents';
import { maxBinaryMessageBytes } from './ipc-limits';

/**
 * Ingest's live batches: after each commit, the committed records go out on the live topic as one or
 * more batch envelopes (the upstream format, shared/src/envelope.ts), each small enough for one IPC
 * message on both nuclei. A commit of a few hundred readings takes one or two messages; every
 * committed record is in exactly one of them. Subscribers decode with `decodeLiveBatch`.
 */
export function encodeLiveBatch(topic: string, gatewayId: string, records: readonly DrRecord[]): Buffer[] {
  if (records.length === 0) return [];
  return packEnvelopes(gatewayId, records, maxBinaryMessageBytes(topic)).map((e) => e.payload);
}

/** The records of one live-batch message (RECORD_INVALID when it is not an envelope). */
export function decodeLiveBatch(bytes: Uint8Array): DrRecord[] {
  return decodeEnvelope(bytes).records;
}

/** The records of a live-batch message as the local IPC host routes it (empty when it is not one). */
export function liveBatchRecords(payload: RoutedPayload): DrRecord[] {
  if (payload.kind !== 'binary') return [];
  return decodeLiveBatch(Buffer.from(payload.base64, 'base64'));
}
