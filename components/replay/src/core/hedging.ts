import { log, type Acc } from './effects';
import { countHedges } from './fleet-updates';
import { pendingOfKind, type Flight, type Send } from './flights';
import type { FleetState, LinkState } from './fleet-state';
import { isThrottled } from './health';
import { lateAfterMs, NO_SAMPLES } from './latency';
import { byPriority } from './selection';
import { freeSlots, publish } from './sending';

/**
 * Hedged sends: when an envelope's PUBACK is late against what its link normally takes, the same
 * envelope (same batch id, same record ids) also goes to the best warm standby, and whichever PUBACK
 * comes first settles it. A black-holed region is thus left after a fraction of a second instead of
 * after ack timeouts; a hedge that wins counts against the late region's health. Duplicates come only
 * from hedged envelopes, at most `hedging.maxInFlight` at a time, and are counted. No hedging while a
 * region is pinned (only that region is used) or paused; while an operator's failover holds traffic on
 * a region, hedges go only to regions ranked after it, never back to the ones it was moved away from.
 */

interface Candidate {
  readonly flight: Flight;
  readonly send: Send;
  readonly lateAtMs: number;
}

function lateAt(s: FleetState, send: Send): number {
  const link = s.links.get(send.link);
  const since = Math.max(send.sentAtMs, link?.lastAckMs ?? 0);
  return since + lateAfterMs(link?.service ?? NO_SAMPLES, s.plan.policy.hedging);
}

/** First sends to the active region that nothing else covers yet, with when each becomes late. */
function candidates(s: FleetState): Candidate[] {
  const p = s.plan.policy.hedging;
  if (!p.enabled || s.pinned !== null || s.paused || s.active === null) return [];
  const out: Candidate[] = [];
  for (const flight of s.ledger.flights.values()) {
    if (flight.ackedBy !== null || flight.released || flight.pending.length !== 1) continue;
    const send = s.ledger.sends.get(flight.pending[0] ?? -1);
    if (send === undefined || send.kind !== 'first' || send.region !== s.active) continue;
    out.push({ flight, send, lateAtMs: lateAt(s, send) });
  }
  return out.sort((a, b) => a.lateAtMs - b.lateAtMs);
}

/** The warm standby a hedge goes to: healthy, connected, with room, preferred first. */
export function hedgeTarget(s: FleetState, nowMs: number): LinkState | undefined {
  const active = s.active === null ? undefined : s.health.get(s.active);
  if (active === undefined) return undefined;
  const holding = nowMs < s.noFailbackBeforeMs;
  const regions = [...s.health.values()]
    .filter(
      (h) =>
        h.name !== active.name &&
        h.status === 'healthy' &&
        !isThrottled(h, nowMs) &&
        (!holding || byPriority(h, active) > 0),
    )
    .sort(byPriority);
  for (const h of regions) {
    const link = s.links.get(h.name);
    if (link?.running === true && link.connected && freeSlots(s, link) > 0) return link;
  }
  return undefined;
}

/** Hedges every envelope that is late now, within the hedge budget. */
export function hedgeLate(acc: Acc, nowMs: number): void {
  const late = candidates(acc.state).filter((c) => c.lateAtMs <= nowMs);
  for (const c of late) {
    if (pendingOfKind(acc.state.ledger, 'hedge') >= acc.state.plan.policy.hedging.maxInFlight) return;
    const target = hedgeTarget(acc.state, nowMs);
    if (target === undefined) return;
    publish(acc, c.flight, target, 'hedge', nowMs);
    countHedges(acc, { hedgedEnvelopes: 1, hedgedRecords: c.flight.records });
    log(acc, 'debug', 'PUBACK late: envelope hedged to a standby', {
      batchId: c.flight.batchId,
      from: c.send.region,
      to: target.region,
      waitedMs: nowMs - c.send.sentAtMs,
    });
  }
}

/**
 * When the next envelope becomes late and could be hedged (the shell wakes the core then), or null:
 * with no standby to hedge to, or no room for a hedge, there is nothing to wake up for, and an
 * envelope that is late already waits for the regular tick.
 */
export function nextHedgeAtMs(s: FleetState, nowMs: number): number | null {
  if (pendingOfKind(s.ledger, 'hedge') >= s.plan.policy.hedging.maxInFlight) return null;
  if (hedgeTarget(s, nowMs) === undefined) return null;
  return candidates(s).find((c) => c.lateAtMs > nowMs)?.lateAtMs ?? null;
}
