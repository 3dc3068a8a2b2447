import type { SwitchKind } from '../../../../shared/src/messages/cloud';
import { log, type Acc } from './effects';
import { countHedges } from './fleet-updates';
import { markReleased, pendingOn, unsettledOnlyOn } from './flights';
import type { SwitchReport } from './fleet-state';
import { selectRegion } from './selection';
import { freeSlots, linksOf, publish } from './sending';

/**
 * Moving traffic from one region to another: the selection's verdict becomes a switch, with its report,
 * and the envelopes still waiting on a region that is not healthy any more are rescued at once instead
 * of after their timeouts: resent as they are (same batch id, same record ids) to the new region while
 * it has room, otherwise given back to the store. A late PUBACK from the old region deletes what is still
 * in flight; what was given back goes again, and the cloud de-duplicates by id. On a fail-back or pin away from a healthy region, envelopes in flight
 * there are left to complete.
 */

const SWITCH_HISTORY = 50;

export function reselect(acc: Acc, nowMs: number): void {
  const s = acc.state;
  const selection = selectRegion({
    regions: [...s.health.values()],
    active: s.active,
    pinned: s.pinned,
    failbackHoldMs: s.plan.policy.health.failbackHoldMs,
    noFailbackBeforeMs: s.noFailbackBeforeMs,
    awaitPreferredUntilMs: s.linksStartedMs + s.plan.policy.connectTimeoutMs,
    nowMs,
  });
  const change = selection.change;
  if (change === undefined) return;
  switchTo(acc, change.kind, selection.active, change.reason, change.detectedAtMs, nowMs);
}

export function switchTo(
  acc: Acc,
  kind: SwitchKind,
  to: string | null,
  reason: string,
  detectedAtMs: number | null,
  nowMs: number,
): void {
  const s = acc.state;
  const from = s.active;
  const old = from === null ? undefined : s.health.get(from);
  const lastGoodMs = old?.lastSuccessMs ?? null;
  const report: SwitchReport = {
    seq: (s.switches.at(-1)?.seq ?? 0) + 1,
    kind,
    from,
    to,
    reason,
    lastGoodMs,
    detectedAtMs,
    switchedAtMs: nowMs,
    detectionMs:
      (kind === 'failover' || kind === 'all-down') && detectedAtMs !== null && lastGoodMs !== null
        ? detectedAtMs - lastGoodMs
        : null,
    firstAckMs: null,
    switchMs: null,
  };
  acc.state = {
    ...s,
    active: to,
    switches: [...s.switches, report].slice(-SWITCH_HISTORY),
    switchCounts: { ...s.switchCounts, [kind]: (s.switchCounts[kind] ?? 0) + 1 },
    pendingSwitch: to === null ? s.pendingSwitch : report.seq,
  };
  const fields = { kind, from, to, reason, detectionMs: report.detectionMs };
  log(acc, kind === 'failover' || kind === 'all-down' ? 'warn' : 'info', `region switch: ${kind}`, fields);
  if (old !== undefined && old.status !== 'healthy') rescue(acc, old.name, nowMs);
}

/** IoT Core: at most 100 QoS1 publishes unacknowledged per connection. */
const IOT_CORE_MAX_IN_FLIGHT = 100;

/**
 * Envelopes whose only sends went to `region`: resent as they are to the active region (beyond its
 * usual window if need be: the old region's windows, drain links included, may hold more than one
 * connection's, and every envelope resent rather than re-read keeps duplicates to copies of one
 * envelope), up to IoT Core's in-flight limit; with no region to take them, released to the store.
 */
export function rescue(acc: Acc, region: string, nowMs: number): void {
  const flights = unsettledOnlyOn(acc.state.ledger, region);
  if (flights.length === 0) return;
  let resent = 0;
  const released: string[] = [];
  let releasedRecords = 0;
  for (const f of flights) {
    const target = linksOf(acc.state, acc.state.active, nowMs)
      .filter((l) => pendingOn(acc.state.ledger, l.key) < IOT_CORE_MAX_IN_FLIGHT)
      .sort((a, b) => freeSlots(acc.state, b) - freeSlots(acc.state, a))[0];
    if (target !== undefined && target.region !== region) {
      publish(acc, f, target, 'failover', nowMs);
      countHedges(acc, { failoverEnvelopes: 1, failoverRecords: f.records });
      resent += f.records;
    } else {
      acc.state = { ...acc.state, ledger: markReleased(acc.state.ledger, f.batchId) };
      released.push(f.unitId);
      releasedRecords += f.records;
    }
  }
  if (released.length > 0) {
    acc.effects.push({ kind: 'release', units: released });
    acc.state = { ...acc.state, releasedForResend: acc.state.releasedForResend + releasedRecords };
  }
  log(acc, 'warn', 'unacknowledged envelopes rescued from a lost region (possible duplicates, same ids)', {
    region,
    to: acc.state.active,
    resentRecords: resent,
    releasedEnvelopes: released.length,
    releasedRecords,
  });
}

/** The first PUBACK from the region a switch went to completes its report. */
export function firstAck(acc: Acc, region: string, nowMs: number): void {
  const s = acc.state;
  const seq = s.pendingSwitch;
  const report = seq === null ? undefined : s.switches.find((r) => r.seq === seq);
  if (report === undefined || report.to !== region) return;
  const done: SwitchReport = { ...report, firstAckMs: nowMs, switchMs: nowMs - report.switchedAtMs };
  acc.state = {
    ...s,
    pendingSwitch: null,
    switches: s.switches.map((r) => (r.seq === seq ? done : r)),
  };
  log(acc, 'info', 'region switch complete: first PUBACK from the new region', {
    kind: done.kind,
    from: done.from,
    to: done.to,
    detectionMs: done.detectionMs,
    switchMs: done.switchMs,
    outageMs: done.kind !== 'failover' || done.lastGoodMs === null ? null : nowMs - done.lastGoodMs,
  });
}
