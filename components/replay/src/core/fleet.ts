import { observeBacklog } from './backlog';
import { log, type Acc, type FleetInput, type Step } from './effects';
import { markReleased } from './flights';
import { freshRegions, initialState, type FleetPlan, type FleetState } from './fleet-state';
import { hedgeLate, nextHedgeAtMs } from './hedging';
import { linkDown, linkFailed, linkUp, manageLinks, retryMisconfiguredRegions, stopLink } from './links';
import { onPublishFailed, onPuback } from './outcomes';
import { probeResult, scheduleProbes } from './probes';
import { sendBatches } from './sending';
import { reselect } from './switching';

/**
 * The region fleet as one pure function: `(state, input, nowMs) -> { state, effects }`. Every input is
 * followed by the same settling: choose the region (failover, fail-back, recovery), then start and stop
 * links to match. Ticks also retry misconfigured regions, probe, and hedge late envelopes.
 */

/** Brings the state in line after a change: region choice first, then the links it implies. */
export function settle(acc: Acc, nowMs: number): void {
  reselect(acc, nowMs);
  manageLinks(acc, nowMs);
}

/** The first step: the initial state and the links to start. */
export function startFleet(
  plan: FleetPlan,
  overrides: { readonly pinnedRegion: string | null; readonly paused: boolean },
  nowMs: number,
): Step {
  const acc: Acc = { state: initialState(plan, overrides, nowMs), effects: [] };
  settle(acc, nowMs);
  return acc;
}

function tick(acc: Acc, backlogRecords: number | null, metricsAtMs: number, nowMs: number): void {
  if (backlogRecords !== null)
    acc.state = {
      ...acc.state,
      backlog: observeBacklog(acc.state.backlog, backlogRecords > 0, metricsAtMs),
    };
  retryMisconfiguredRegions(acc, nowMs);
  settle(acc, nowMs);
  scheduleProbes(acc, nowMs);
  hedgeLate(acc, nowMs);
}

function configure(acc: Acc, plan: FleetPlan, relink: boolean, nowMs: number): void {
  const old = acc.state;
  acc.state = { ...old, plan };
  if (old.plan.pinnedRegion !== plan.pinnedRegion || old.plan.paused !== plan.paused) {
    // A deployment that changes the overrides wins over an earlier command.
    acc.state = { ...acc.state, pinned: plan.pinnedRegion, paused: plan.paused };
    acc.effects.push({ kind: 'save-overrides', pinnedRegion: plan.pinnedRegion, paused: plan.paused });
  }
  if (!relink) return;
  log(acc, 'info', 'regions or connection settings changed: reconnecting');
  const released: string[] = [];
  for (const f of acc.state.ledger.flights.values()) {
    if (f.ackedBy !== null || f.released) continue;
    released.push(f.unitId);
    acc.state = { ...acc.state, ledger: markReleased(acc.state.ledger, f.batchId) };
  }
  if (released.length > 0) acc.effects.push({ kind: 'release', units: released });
  for (const link of old.links.values()) if (link.running) stopLink(acc, link.key);
  acc.state = { ...acc.state, ...freshRegions(plan, acc.state.nextGeneration, nowMs) };
}

export function step(state: FleetState, input: FleetInput, nowMs: number): Step {
  const acc: Acc = { state, effects: [] };
  switch (input.type) {
    case 'tick':
      tick(acc, input.backlogRecords, input.metricsAtMs ?? nowMs, nowMs);
      return acc;
    case 'configure':
      configure(acc, input.plan, input.relink, nowMs);
      break;
    case 'link-connected':
      linkUp(acc, input.link, input.generation, nowMs);
      break;
    case 'link-disconnected':
      linkDown(acc, input.link, input.generation, input.reason, nowMs);
      break;
    case 'link-failed':
      linkFailed(acc, input.link, input.generation, input.diagnosis, nowMs);
      break;
    case 'batches':
      acc.state = { ...acc.state, backlog: observeBacklog(acc.state.backlog, input.backlog, nowMs) };
      sendBatches(acc, input.batches, nowMs);
      manageLinks(acc, nowMs);
      return acc;
    case 'puback':
      onPuback(acc, input.sendId, input.reasonCode, input.latencyMs, nowMs);
      break;
    case 'publish-failed':
      onPublishFailed(acc, input.sendId, input.timedOut, input.reason, nowMs);
      break;
    case 'probe-result':
      probeResult(acc, input, nowMs);
      break;
  }
  settle(acc, nowMs);
  return acc;
}

/** When the core next needs a tick sooner than the regular one (a send about to be late), or null. */
export function nextDeadlineMs(state: FleetState, nowMs: number): number | null {
  return nextHedgeAtMs(state, nowMs);
}
