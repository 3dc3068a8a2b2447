import { log, type Acc } from './effects';
import { addSend, pendingOn, type BatchInfo, type Send } from './flights';
import type { FleetState, LinkState } from './fleet-state';
import { isThrottled } from './health';

/**
 * Where envelopes go and how much to read: the active region's connected links (its primary and any
 * drain links), each with its own in-flight window. One reader feeds them all, so a record is never
 * leased twice; reads come in the store's priority order (alerts, live, backlog), so the next free
 * slot on any link always carries the most urgent records.
 */

export interface ReadBudget {
  readonly maxEnvelopes: number;
  readonly maxRecords: number;
}

/** A region's links that can take a publish now, primary first; empty when the region cannot. */
export function linksOf(s: FleetState, region: string | null, nowMs: number): LinkState[] {
  if (region === null || s.paused) return [];
  const h = s.health.get(region);
  if (h?.status !== 'healthy' || isThrottled(h, nowMs)) return [];
  const links = [...s.links.values()].filter((l) => l.region === region && l.running && l.connected);
  if (!links.some((l) => l.slot === 0)) return []; // presence and commands ride on the primary
  return links.sort((a, b) => a.slot - b.slot);
}

export function freeSlots(s: FleetState, link: LinkState): number {
  return Math.max(0, s.plan.policy.batching.maxInFlight - pendingOn(s.ledger, link.key));
}

/**
 * How much to read now: an envelope for every free slot over the active region's links, at most
 * `maxReadRecords` records packed from rows; null for nothing.
 */
export function readBudget(s: FleetState, nowMs: number): ReadBudget | null {
  const free = linksOf(s, s.active, nowMs).reduce((n, l) => n + freeSlots(s, l), 0);
  if (free <= 0) return null;
  return { maxEnvelopes: free, maxRecords: s.plan.policy.batching.maxReadRecords };
}

/** The link with the most free slots (the primary on a tie); the least loaded when all are full. */
function pick(s: FleetState, links: readonly LinkState[]): LinkState | undefined {
  let best: LinkState | undefined;
  let bestFree = -Infinity;
  for (const l of links) {
    const free = s.plan.policy.batching.maxInFlight - pendingOn(s.ledger, l.key);
    if (free > bestFree) {
      best = l;
      bestFree = free;
    }
  }
  return best;
}

/** Records a send and asks the shell to publish it. */
export function publish(
  acc: Acc,
  batch: BatchInfo,
  link: LinkState,
  kind: Send['kind'],
  nowMs: number,
): void {
  const { ledger, send } = addSend(acc.state.ledger, batch, link.key, link.region, kind, nowMs);
  acc.state = { ...acc.state, ledger };
  if (link.region === acc.state.active) acc.state = { ...acc.state, lastSendMs: nowMs };
  acc.effects.push({ kind: 'publish-batch', batchId: batch.batchId, sendId: send.id, link: link.key });
}

/** Envelopes just read go out on the active region's links; with none able to take them, back they go. */
export function sendBatches(acc: Acc, batches: readonly BatchInfo[], nowMs: number): void {
  if (batches.length === 0) return;
  const links = linksOf(acc.state, acc.state.active, nowMs);
  if (links.length === 0) {
    acc.effects.push({ kind: 'release', units: batches.map((b) => b.unitId) });
    // Never sent, so no outcome will close them: the shell drops their payloads now.
    for (const b of batches) acc.effects.push({ kind: 'forget-batch', batchId: b.batchId });
    log(acc, 'debug', 'no link can take the envelopes read; records go back to the store', {
      envelopes: batches.length,
    });
    return;
  }
  for (const batch of batches) {
    const link = pick(acc.state, links);
    if (link !== undefined) publish(acc, batch, link, 'first', nowMs);
  }
}
