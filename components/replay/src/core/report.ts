import type { ShadowReported } from '../../../../shared/src/messages/cloud';
import type { StoreMetrics } from '../../../../shared/src/store/types';
import type { FleetState } from './fleet-state';

/**
 * What the fleet tells the world: the DR shadow's reported state and the status document. Both are
 * bounded: reasons are cut to `REASON_CHARS` (the log has them whole) and a few recent switches are
 * listed, so the status fits one IPC message on nucleus lite and the shadow stays far under IoT Core's
 * document limit.
 */

const REASON_CHARS = 240;
const RECENT_SWITCHES = 3;

function brief(reason: string | null): string | null {
  return reason === null || reason.length <= REASON_CHARS ? reason : `${reason.slice(0, REASON_CHARS - 1)}…`;
}

export function shadowReported(s: FleetState, metrics: StoreMetrics | null, nowMs: number): ShadowReported {
  const last = s.switches.findLast(
    (r) => r.kind === 'failover' || r.kind === 'manual' || r.kind === 'all-down',
  );
  return {
    activeRegion: s.active,
    pinnedRegion: s.pinned,
    paused: s.paused,
    regions: Object.fromEntries([...s.health].map(([n, h]) => [n, h.status])),
    backlog:
      metrics === null
        ? null
        : {
            alert: metrics.lanes.alert.depth,
            live: metrics.liveTelemetryDepth,
            backlog: metrics.lanes.telemetry.depth - metrics.liveTelemetryDepth,
          },
    oldestAgeMs:
      metrics === null
        ? null
        : Math.max(metrics.lanes.alert.oldestAgeMs ?? 0, metrics.lanes.telemetry.oldestAgeMs ?? 0),
    storeBytes: metrics?.usedBytes ?? null,
    lastFailover:
      last === undefined
        ? null
        : {
            kind: last.kind,
            from: last.from,
            to: last.to,
            atMs: last.switchedAtMs,
            reason: brief(last.reason) ?? '',
          },
    updatedAtMs: nowMs,
  };
}

/** Records beyond the live window, as the drain links judge a backlog. */
export function backlogRecords(metrics: StoreMetrics): number {
  return metrics.lanes.alert.depth + metrics.lanes.telemetry.depth - metrics.liveTelemetryDepth;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export interface StatusContext {
  readonly thing: string;
  readonly metrics: StoreMetrics | null;
  readonly nowMs: number;
  /** Commands accepted and refused so far (counted where they arrive). */
  readonly commands: { readonly accepted: number; readonly refused: number };
  /** How the component's configuration has fared (validation by the nucleus, refusals), as the shell knows it. */
  readonly configuration?: unknown;
}

/** What the `status` command answers and what goes to the local status topic. */
export function statusDocument(s: FleetState, ctx: StatusContext): Record<string, unknown> {
  const { updatedAtMs: _at, ...reported } = shadowReported(s, ctx.metrics, ctx.nowMs);
  return {
    thing: ctx.thing,
    atMs: ctx.nowMs,
    ...reported,
    regionHealth: Object.fromEntries(
      [...s.health].map(([n, h]) => [
        n,
        {
          status: h.status,
          reason: brief(h.reason),
          latencyMs: h.latencyMs === null ? null : round1(h.latencyMs),
          connected: s.links.get(n)?.connected ?? false,
          lastSuccessMs: h.lastSuccessMs,
        },
      ]),
    ),
    links: Object.fromEntries(
      [...s.links.values()]
        .filter((l) => l.running)
        .map((l) => [
          l.key,
          { connected: l.connected, deliveredBatches: l.delivered, ackMs: round1(l.service.meanMs) },
        ]),
    ),
    delivered: Object.fromEntries(s.counters),
    inFlightBatches: s.ledger.flights.size,
    resentRecords: s.releasedForResend + s.hedges.failoverRecords,
    hedging: s.hedges,
    switches: s.switchCounts,
    recentSwitches: s.switches.slice(-RECENT_SWITCHES).map((r) => ({ ...r, reason: brief(r.reason) })),
    commands: ctx.commands,
    ...(ctx.configuration === undefined ? {} : { configuration: ctx.configuration }),
  };
}
