import type { SwitchKind } from '../../../../shared/src/messages/cloud';
import { NO_BACKLOG, type Backlog } from './backlog';
import { EMPTY_LEDGER, type Ledger, type LinkKey } from './flights';
import { initialHealth, type HealthPolicy, type RegionHealth } from './health';
import { NO_SAMPLES, type ServiceTime } from './latency';

/**
 * The region fleet's state: per region its health and its links (one primary connection, plus drain
 * links used while a backlog exists), the active region, operator overrides, the flight ledger, probes,
 * switch history and counters. Plain immutable data; `fleet.ts` moves it from one state to the next.
 */

export interface RegionPlan {
  readonly name: string;
  /** Lower is preferred. */
  readonly priority: number;
  readonly standby: 'warm' | 'cold';
  /** Extra connections (distinct client ids) used only while a backlog exists. */
  readonly drainLinks: number;
}

export interface FleetPolicy {
  readonly health: HealthPolicy & { readonly probeIntervalMs: number; readonly failbackHoldMs: number };
  readonly connectTimeoutMs: number;
  readonly batching: {
    /** Per link. */
    readonly maxInFlight: number;
    readonly maxEnvelopeBytes: number;
    readonly maxReadRecords: number;
  };
  readonly hedging: {
    readonly enabled: boolean;
    readonly minDelayMs: number;
    readonly maxDelayMs: number;
    /** Hedged sends outstanding at once. */
    readonly maxInFlight: number;
  };
  /** Drain links stop after the backlog has been empty this long. */
  readonly drainLinkIdleMs: number;
}

export interface FleetPlan {
  readonly regions: readonly RegionPlan[];
  readonly policy: FleetPolicy;
  /** Resolved topics the core names in reasons and effects. */
  readonly topics: { readonly batches: string; readonly probe: string };
  readonly inferenceTopic: string;
  /** The configuration's own overrides (a deployment that changes them wins over a command). */
  readonly pinnedRegion: string | null;
  readonly paused: boolean;
}

export interface LinkState {
  readonly key: LinkKey;
  readonly region: string;
  /** 0: the region's primary connection (presence, commands, probes); 1..n: drain links. */
  readonly slot: number;
  /** Bumped at every start, so events of an older client are recognised and ignored. */
  readonly generation: number;
  readonly running: boolean;
  readonly connected: boolean;
  readonly lastAckMs: number | null;
  /** Envelopes this link delivered (successful PUBACKs). */
  readonly delivered: number;
  readonly service: ServiceTime;
  /** A drain link the region refused: not started again before this. */
  readonly refusedUntilMs: number | null;
}

export interface RegionCounters {
  readonly records: number;
  readonly batches: number;
  readonly payloadBytes: number;
  readonly refusedBatches: number;
  readonly failedBatches: number;
  readonly probes: number;
  readonly failedProbes: number;
}

export const ZERO_COUNTERS: RegionCounters = {
  records: 0,
  batches: 0,
  payloadBytes: 0,
  refusedBatches: 0,
  failedBatches: 0,
  probes: 0,
  failedProbes: 0,
};

/** Envelopes sent to a second region, and what came of it. */
export interface HedgeCounters {
  /** Late envelopes hedged to a warm standby. */
  readonly hedgedEnvelopes: number;
  readonly hedgedRecords: number;
  /** Hedges whose PUBACK came first. */
  readonly hedgeWins: number;
  /** Envelopes resent to the next region when theirs was judged down. */
  readonly failoverEnvelopes: number;
  readonly failoverRecords: number;
  /** Copies acknowledged by two regions (a lower bound of the cloud's duplicates). */
  readonly duplicateEnvelopes: number;
  readonly duplicateRecords: number;
}

export const ZERO_HEDGES: HedgeCounters = {
  hedgedEnvelopes: 0,
  hedgedRecords: 0,
  hedgeWins: 0,
  failoverEnvelopes: 0,
  failoverRecords: 0,
  duplicateEnvelopes: 0,
  duplicateRecords: 0,
};

/** A failover, fail-back, recovery or operator switch, with its timing. */
export interface SwitchReport {
  readonly seq: number;
  readonly kind: SwitchKind;
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
  /** The last PUBACK from the old region before the switch. */
  readonly lastGoodMs: number | null;
  /** When the old region was judged down (failover) or the new one healthy (fail-back, recovery). */
  readonly detectedAtMs: number | null;
  readonly switchedAtMs: number;
  /** From the last good PUBACK to the judgement. */
  readonly detectionMs: number | null;
  /** The first PUBACK from the new region, and the time from the switch to it. */
  readonly firstAckMs: number | null;
  readonly switchMs: number | null;
}

export interface ProbeInFlight {
  readonly link: LinkKey;
  readonly sentAtMs: number;
}

export interface FleetState {
  readonly plan: FleetPlan;
  readonly health: ReadonlyMap<string, RegionHealth>;
  readonly links: ReadonlyMap<LinkKey, LinkState>;
  readonly active: string | null;
  readonly pinned: string | null;
  readonly paused: boolean;
  /** No fail-back before this (set by an operator's failover). */
  readonly noFailbackBeforeMs: number;
  readonly linksStartedMs: number;
  readonly nextGeneration: number;
  readonly ledger: Ledger;
  readonly lastSendMs: number;
  readonly probes: ReadonlyMap<number, ProbeInFlight>;
  readonly lastProbeMs: ReadonlyMap<LinkKey, number>;
  readonly nextProbeId: number;
  /** Whether records wait beyond the live window (drain links run while they do). */
  readonly backlog: Backlog;
  readonly switches: readonly SwitchReport[];
  readonly pendingSwitch: number | null;
  readonly switchCounts: Readonly<Partial<Record<SwitchKind, number>>>;
  readonly counters: ReadonlyMap<string, RegionCounters>;
  readonly hedges: HedgeCounters;
  /** Records given back to the store for a resend elsewhere. */
  readonly releasedForResend: number;
}

export function linkKey(region: string, slot: number): LinkKey {
  return slot === 0 ? region : `${region}/drain-${slot}`;
}

function linksOf(plan: FleetPlan, firstGeneration: number): Map<LinkKey, LinkState> {
  const links = new Map<LinkKey, LinkState>();
  for (const r of plan.regions)
    for (let slot = 0; slot <= r.drainLinks; slot++) {
      const key = linkKey(r.name, slot);
      links.set(key, {
        key,
        region: r.name,
        slot,
        generation: firstGeneration,
        running: false,
        connected: false,
        lastAckMs: null,
        delivered: 0,
        service: NO_SAMPLES,
        refusedUntilMs: null,
      });
    }
  return links;
}

/** Every region connecting, no link started yet (the fleet's first step starts them). */
export function freshRegions(
  plan: FleetPlan,
  nextGeneration: number,
  nowMs: number,
): Pick<FleetState, 'health' | 'links' | 'active' | 'linksStartedMs' | 'pendingSwitch'> {
  return {
    health: new Map(plan.regions.map((r) => [r.name, initialHealth(r.name, r.priority)])),
    links: linksOf(plan, nextGeneration),
    active: null,
    linksStartedMs: nowMs,
    pendingSwitch: null,
  };
}

export function initialState(
  plan: FleetPlan,
  overrides: { readonly pinnedRegion: string | null; readonly paused: boolean },
  nowMs: number,
): FleetState {
  return {
    plan,
    ...freshRegions(plan, 0, nowMs),
    pinned: overrides.pinnedRegion,
    paused: overrides.paused,
    noFailbackBeforeMs: 0,
    nextGeneration: 1,
    ledger: EMPTY_LEDGER,
    lastSendMs: 0,
    probes: new Map(),
    lastProbeMs: new Map(),
    nextProbeId: 1,
    backlog: NO_BACKLOG,
    switches: [],
    switchCounts: {},
    counters: new Map(),
    hedges: ZERO_HEDGES,
    releasedForResend: 0,
  };
}

export function regionPlan(s: FleetState, name: string): RegionPlan | undefined {
  return s.plan.regions.find((r) => r.name === name);
}

export function primaryLink(s: FleetState, region: string): LinkState | undefined {
  return s.links.get(linkKey(region, 0));
}
