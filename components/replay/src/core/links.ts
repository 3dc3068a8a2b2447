import { backlogPresent } from './backlog';
import { log, type Acc, type Diagnosed } from './effects';
import { pendingOn, type LinkKey } from './flights';
import { regionPlan, type FleetState, type LinkState, type RegionPlan } from './fleet-state';
import { regionEvent, updateLink } from './fleet-updates';
import { initialHealth, retryMisconfigured } from './health';

/**
 * Which connections run. A warm standby's primary link always runs; a cold one only while no better
 * region is healthy (after the warm ones had their chance to connect at start), or while it is active
 * or pinned. Drain links run only for the active region while a backlog exists (and a while after, so
 * a backlog that comes and goes does not churn connections). A link the region refused for its
 * certificate stays stopped until the misconfiguration retry, which starts a fresh client (files are
 * read again). A link with sends pending is not stopped: their PUBACKs may still come.
 */

function wanted(s: FleetState, r: RegionPlan, link: LinkState, nowMs: number): boolean {
  const h = s.health.get(r.name);
  if (link.slot > 0) {
    if (link.refusedUntilMs !== null && nowMs < link.refusedUntilMs) return false;
    const primary = s.links.get(r.name);
    return (
      r.name === s.active &&
      !s.paused &&
      h?.status === 'healthy' &&
      primary?.connected === true &&
      backlogPresent(s.backlog, nowMs, s.plan.policy.drainLinkIdleMs)
    );
  }
  // A misconfigured region keeps its link as it is: stopped after a refused certificate, or
  // connected after an ACL refusal (probes and commands may still work) until the retry.
  if (h?.status === 'misconfigured') return link.running;
  if (r.standby === 'warm' || r.name === s.active || r.name === s.pinned) return true;
  const activeHealthy = s.active !== null && s.health.get(s.active)?.status === 'healthy';
  const starting = nowMs < s.linksStartedMs + s.plan.policy.connectTimeoutMs;
  return !activeHealthy && !starting;
}

export function startLink(acc: Acc, key: LinkKey): void {
  const generation = acc.state.nextGeneration;
  acc.state = { ...acc.state, nextGeneration: generation + 1 };
  updateLink(acc, key, { running: true, connected: false, generation });
  acc.effects.push({ kind: 'start-link', link: key, generation });
}

export function stopLink(acc: Acc, key: LinkKey): void {
  updateLink(acc, key, { running: false, connected: false });
  acc.effects.push({ kind: 'stop-link', link: key });
}

/** Starts and stops links to match what is wanted now. */
export function manageLinks(acc: Acc, nowMs: number): void {
  for (const link of [...acc.state.links.values()]) {
    const r = regionPlan(acc.state, link.region);
    if (r === undefined) continue;
    const want = wanted(acc.state, r, link, nowMs);
    if (want && !link.running) {
      if (link.slot > 0) log(acc, 'info', 'connecting a drain link for the backlog', { link: link.key });
      else if (r.standby === 'cold') log(acc, 'info', 'connecting cold standby', { region: r.name });
      startLink(acc, link.key);
    } else if (!want && link.running && pendingOn(acc.state.ledger, link.key) === 0) {
      if (link.slot > 0) log(acc, 'info', 'disconnecting a drain link', { link: link.key });
      else log(acc, 'info', 'disconnecting cold standby', { region: r.name });
      stopLink(acc, link.key);
      if (link.slot === 0) {
        const s = acc.state;
        acc.state = { ...s, health: new Map(s.health).set(r.name, initialHealth(r.name, r.priority)) };
      }
    }
  }
}

/** Misconfigured regions whose retry time has come: a fresh client reads the files again. */
export function retryMisconfiguredRegions(acc: Acc, nowMs: number): void {
  for (const h of [...acc.state.health.values()]) {
    const next = retryMisconfigured(h, nowMs, acc.state.plan.policy.health);
    if (next === h) continue;
    acc.state = { ...acc.state, health: new Map(acc.state.health).set(h.name, next) };
    log(acc, 'info', 'retrying a misconfigured region (its files are read again)', { region: h.name });
    const link = acc.state.links.get(h.name);
    if (link?.running === true) {
      stopLink(acc, link.key);
      startLink(acc, link.key);
    }
  }
}

/** Events from a link's client; those of an older client (another generation) are ignored. */
export function linkUp(acc: Acc, key: LinkKey, generation: number, nowMs: number): void {
  const link = current(acc, key, generation);
  if (link === undefined) return;
  updateLink(acc, key, { connected: true });
  if (link.slot > 0) log(acc, 'info', 'drain link connected', { link: key });
  else {
    log(acc, 'info', 'region connected', { region: link.region });
    regionEvent(acc, link.region, { type: 'connected' }, nowMs);
  }
}

export function linkDown(acc: Acc, key: LinkKey, generation: number, reason: string, nowMs: number): void {
  const link = current(acc, key, generation);
  if (link === undefined) return;
  updateLink(acc, key, { connected: false });
  if (link.slot > 0) log(acc, 'warn', 'drain link disconnected', { link: key, reason });
  else regionEvent(acc, link.region, { type: 'disconnected', reason }, nowMs);
}

export function linkFailed(acc: Acc, key: LinkKey, generation: number, d: Diagnosed, nowMs: number): void {
  const link = current(acc, key, generation);
  if (link === undefined) return;
  if (link.slot > 0) {
    if (d.kind === 'certificate') {
      // Retrying will not fix a certificate (or a client id the policy does not allow).
      const until = nowMs + acc.state.plan.policy.health.misconfiguredRetryMs;
      updateLink(acc, key, { refusedUntilMs: until });
      stopLink(acc, key);
      log(acc, 'error', 'drain link refused; the primary link carries on alone', {
        link: key,
        reason: d.cause,
        retryAtMs: until,
      });
    } else log(acc, 'warn', 'drain link cannot connect', { link: key, reason: d.cause });
    return;
  }
  if (d.kind === 'certificate') {
    regionEvent(acc, link.region, { type: 'refused', reason: d.cause }, nowMs);
    stopLink(acc, key); // waits for misconfiguredRetryMs
  } else regionEvent(acc, link.region, { type: 'connect-failed', reason: d.cause }, nowMs);
}

function current(acc: Acc, key: LinkKey, generation: number): LinkState | undefined {
  const link = acc.state.links.get(key);
  return link !== undefined && link.running && link.generation === generation ? link : undefined;
}
