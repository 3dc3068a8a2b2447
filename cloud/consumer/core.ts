import { decodeEnvelope, type EnvelopeHeader } from '../../shared/src/envelope';
import { DrError, toDrError } from '../../shared/src/errors';
import type { DrRecord } from '../../shared/src/record';
import type { BatchSource, DeadLetterSink, IdempotencyStore, RecordSink } from './ports';

export interface ConsumerDeps {
  readonly sink: RecordSink;
  readonly idempotency: IdempotencyStore;
  readonly deadLetters: DeadLetterSink;
  readonly nowMs: () => number;
  /** A claim not completed within this time may be taken over (its consumer died). */
  readonly claimLeaseMs: number;
}

export type BatchOutcome =
  | { readonly kind: 'dead-letter'; readonly reason: string }
  | {
      readonly kind: 'stored';
      readonly header: EnvelopeHeader;
      /** Records written to the sink by this call. */
      readonly stored: number;
      /** Records already stored before (resends after a lost PUBACK or a failover). */
      readonly duplicates: number;
      /** Records another consumer is storing right now: retry the batch later to confirm them. */
      readonly busy: readonly string[];
    };

/**
 * What a cloud consumer does with one batch payload, in every region: decode it with the suite's own
 * decoder (anything malformed goes to the dead letters with the reason, and is not retried), claim each
 * record id (a conditional write on the id), write the newly claimed records to the sink, then mark them
 * complete. A sink failure gives the claims back and throws (retryable), so a retry stores them; a
 * failure after the sink leaves them claimed until the lease ends, then a retry stores them again:
 * records may reach the sink twice in that case, never zero times.
 */
export async function consumeBatch(
  payload: Uint8Array,
  source: BatchSource,
  deps: ConsumerDeps,
): Promise<BatchOutcome> {
  let decoded: { readonly header: EnvelopeHeader; readonly records: DrRecord[] };
  try {
    decoded = decodeEnvelope(payload);
  } catch (err) {
    return deadLetter(payload, toDrError(err).message, source, deps);
  }
  const { header, records } = decoded;
  // The IoT policy lets a gateway publish only on its own topic; a header that names another gateway
  // is not trusted with that gateway's record ids.
  if (header.gatewayId !== source.thing)
    return deadLetter(
      payload,
      `envelope of gateway ${header.gatewayId} on the topic of ${source.thing}`,
      source,
      deps,
    );
  const byId = new Map<string, DrRecord>();
  for (const r of records) if (!byId.has(r.id)) byId.set(r.id, r);
  const claims = await deps.idempotency.claim([...byId.keys()], deps.nowMs(), deps.claimLeaseMs);
  const claimed = [...byId.values()].filter((r) => claims.get(r.id) === 'claimed');
  const busy = [...byId.keys()].filter((id) => claims.get(id) === 'busy');
  const duplicates = records.length - claimed.length - busy.length;
  if (claimed.length > 0) {
    const ids = claimed.map((r) => r.id);
    try {
      await deps.sink.write(claimed, { source, header });
    } catch (err) {
      await deps.idempotency.release(ids).catch(() => undefined); // the lease ends them otherwise
      throw new DrError(
        'INTERNAL',
        `batch ${header.batchId}: the record sink failed: ${toDrError(err).message}`,
        {
          cause: err,
          retryable: true,
        },
      );
    }
    await deps.idempotency.complete(ids, deps.nowMs());
  }
  return { kind: 'stored', header, stored: claimed.length, duplicates, busy };
}

async function deadLetter(
  payload: Uint8Array,
  reason: string,
  source: BatchSource,
  deps: ConsumerDeps,
): Promise<BatchOutcome> {
  await deps.deadLetters.write(payload, reason, source);
  return { kind: 'dead-letter', reason };
}
