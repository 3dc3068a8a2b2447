import { log, type Acc } from './effects';
import type { LinkKey } from './flights';
import { ZERO_COUNTERS, type HedgeCounters, type LinkState, type RegionCounters } from './fleet-state';
import { nextHealth, type RegionEvent } from './health';
import { addSample } from './latency';

/** Small state updates shared by the fleet's steps. */

/** A region's health after an event; status changes are logged with the reason. */
export function regionEvent(acc: Acc, region: string, event: RegionEvent, nowMs: number): void {
  const s = acc.state;
  const before = s.health.get(region);
  if (before === undefined) return;
  const after = nextHealth(before, event, nowMs, s.plan.policy.health);
  acc.state = { ...s, health: new Map(s.health).set(region, after) };
  if (after.status === before.status) return;
  const fields = { region, from: before.status, to: after.status, reason: after.reason };
  if (after.status === 'misconfigured') log(acc, 'error', 'region misconfigured', fields);
  else if (after.status === 'down') log(acc, 'warn', 'region down', fields);
  else log(acc, 'info', 'region health changed', fields);
}

export function updateLink(acc: Acc, key: LinkKey, patch: Partial<LinkState>): LinkState | undefined {
  const old = acc.state.links.get(key);
  if (old === undefined) return undefined;
  const link = { ...old, ...patch };
  acc.state = { ...acc.state, links: new Map(acc.state.links).set(key, link) };
  return link;
}

export function count(acc: Acc, region: string, add: Partial<RegionCounters>): void {
  const c = acc.state.counters.get(region) ?? ZERO_COUNTERS;
  const next: RegionCounters = {
    records: c.records + (add.records ?? 0),
    batches: c.batches + (add.batches ?? 0),
    payloadBytes: c.payloadBytes + (add.payloadBytes ?? 0),
    refusedBatches: c.refusedBatches + (add.refusedBatches ?? 0),
    failedBatches: c.failedBatches + (add.failedBatches ?? 0),
    probes: c.probes + (add.probes ?? 0),
    failedProbes: c.failedProbes + (add.failedProbes ?? 0),
  };
  acc.state = { ...acc.state, counters: new Map(acc.state.counters).set(region, next) };
}

export function countHedges(acc: Acc, add: Partial<HedgeCounters>): void {
  const h = acc.state.hedges;
  const next = { ...h };
  for (const [k, v] of Object.entries(add) as [keyof HedgeCounters, number][]) next[k] = h[k] + v;
  acc.state = { ...acc.state, hedges: next };
}

/** A link answered a publish sent at `sentAtMs` (any PUBACK): its timing learns from it. */
export function linkAnswered(
  acc: Acc,
  key: LinkKey,
  sentAtMs: number,
  nowMs: number,
  delivered: boolean,
): void {
  const link = acc.state.links.get(key);
  if (link === undefined) return;
  const since = Math.max(sentAtMs, link.lastAckMs ?? 0);
  updateLink(acc, key, {
    lastAckMs: nowMs,
    service: addSample(link.service, nowMs - since),
    delivered: link.delivered + (delivered ? 1 : 0),
  });
}
