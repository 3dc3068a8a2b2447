import { log, type Acc } from './effects';
import { sendsOf, settle, type Send, type Settlement } from './flights';
import { count, countHedges, linkAnswered, regionEvent } from './fleet-updates';
import { isSuccessCode } from './health';
import { firstAck } from './switching';

/**
 * What a send's outcome settles. A successful PUBACK deletes the envelope's records the first time
 * (later ones are duplicates, counted); when a hedged copy wins, the region that was late is charged a
 * failure, so two such losses in a row make it down. A refusal or a failure gives the records back to
 * the store once no other send of the envelope is pending.
 */

/** A settled envelope's payload is no longer needed once no send of it is pending. */
function forgetIfClosed(acc: Acc, settlement: Settlement): void {
  if (settlement.closed && settlement.verdict !== null)
    acc.effects.push({ kind: 'forget-batch', batchId: settlement.verdict.flight.batchId });
}

export function onPuback(
  acc: Acc,
  sendId: number,
  reasonCode: number,
  latencyMs: number,
  nowMs: number,
): void {
  const send = acc.state.ledger.sends.get(sendId);
  if (send === undefined) return;
  const success = isSuccessCode(reasonCode);
  linkAnswered(acc, send.link, send.sentAtMs, nowMs, success);
  const flight = acc.state.ledger.flights.get(send.batchId);
  const others = flight === undefined ? [] : sendsOf(acc.state.ledger, flight).filter((s) => s.id !== sendId);
  const settlement = settle(acc.state.ledger, sendId, success);
  acc.state = { ...acc.state, ledger: settlement.ledger };
  const v = settlement.verdict;
  if (success && v !== null) {
    count(acc, send.region, {
      records: v.flight.records,
      batches: 1,
      payloadBytes: v.flight.payloadBytes,
    });
    if (v.kind === 'delivered') {
      acc.effects.push({ kind: 'ack', units: [v.flight.unitId] });
      if (send.kind !== 'first') overtook(acc, send, others, nowMs);
    } else if (v.kind === 'duplicate') {
      countHedges(acc, { duplicateEnvelopes: 1, duplicateRecords: v.flight.records });
    }
  } else if (!success) {
    if (v?.kind === 'release') acc.effects.push({ kind: 'release', units: [v.flight.unitId] });
    count(acc, send.region, { refusedBatches: 1 });
    log(acc, 'warn', 'batch refused by the region; its records stay in the store', {
      region: send.region,
      link: send.link,
      topic: acc.state.plan.topics.batches,
      reasonCode: `0x${reasonCode.toString(16)}`,
      batchId: send.batchId,
    });
  }
  forgetIfClosed(acc, settlement);
  regionEvent(
    acc,
    send.region,
    { type: 'puback', reasonCode, latencyMs, topic: acc.state.plan.topics.batches },
    nowMs,
  );
  if (success) firstAck(acc, send.region, nowMs);
}

/** A hedge or failover copy won: the first sends still pending were late, and their regions are charged. */
function overtook(acc: Acc, winner: Send, others: readonly Send[], nowMs: number): void {
  if (winner.kind === 'hedge') countHedges(acc, { hedgeWins: 1 });
  for (const late of others) {
    if (late.kind !== 'first' || late.region === winner.region) continue;
    regionEvent(
      acc,
      late.region,
      { type: 'overtaken', by: winner.region, overdueMs: nowMs - late.sentAtMs },
      nowMs,
    );
  }
}

export function onPublishFailed(
  acc: Acc,
  sendId: number,
  timedOut: boolean,
  reason: string,
  nowMs: number,
): void {
  const send = acc.state.ledger.sends.get(sendId);
  if (send === undefined) return;
  const settlement = settle(acc.state.ledger, sendId, false);
  acc.state = { ...acc.state, ledger: settlement.ledger };
  if (settlement.verdict?.kind === 'release')
    acc.effects.push({ kind: 'release', units: [settlement.verdict.flight.unitId] });
  forgetIfClosed(acc, settlement);
  count(acc, send.region, { failedBatches: 1 });
  if (timedOut)
    regionEvent(acc, send.region, { type: 'publish-timeout', topic: acc.state.plan.topics.batches }, nowMs);
  else log(acc, 'debug', 'batch not delivered; it goes again', { link: send.link, reason });
}
