import type { Effect, FleetInput, Step } from '../../components/replay/src/core/effects';
import { step } from '../../components/replay/src/core/fleet';
import type {
  FleetPlan,
  FleetPolicy,
  FleetState,
  RegionPlan,
} from '../../components/replay/src/core/fleet-state';

/** Helpers for table-driven tests of Replay's fleet core: plans, inputs, and effects without the logs. */

export const POLICY: FleetPolicy = {
  health: {
    maxConsecutiveFailures: 2,
    quotaBackoffMs: 1_000,
    misconfiguredRetryMs: 60_000,
    probeIntervalMs: 5_000,
    failbackHoldMs: 30_000,
  },
  connectTimeoutMs: 2_000,
  batching: { maxInFlight: 2, maxEnvelopeBytes: 1_000, maxReadRecords: 100 },
  hedging: { enabled: true, minDelayMs: 200, maxDelayMs: 1_000, maxInFlight: 2 },
  drainLinkIdleMs: 10_000,
};

export function plan(
  regions: readonly (Partial<RegionPlan> & { name: string })[],
  policy: Partial<FleetPolicy> = {},
  overrides: Partial<Pick<FleetPlan, 'pinnedRegion' | 'paused'>> = {},
): FleetPlan {
  return {
    regions: regions.map((r, i) => ({ priority: i, standby: 'warm', drainLinks: 0, ...r })),
    policy: { ...POLICY, ...policy },
    topics: { batches: 'edgedr/gw/batches', probe: 'edgedr/gw/probe' },
    inferenceTopic: 'edgedr/inference/commands',
    pinnedRegion: null,
    paused: false,
    ...overrides,
  };
}

/** An input, or one worked out from the state at its time (a link event needs the link's generation). */
export type Act = FleetInput | ((s: FleetState) => FleetInput);

const generation = (s: FleetState, link: string): number => {
  const l = s.links.get(link);
  if (l === undefined) throw new Error(`no link ${link}`);
  return l.generation;
};

export const up =
  (link: string): Act =>
  (s) => ({ type: 'link-connected', link, generation: generation(s, link) });
export const down =
  (link: string, reason = 'socket closed'): Act =>
  (s) => ({ type: 'link-disconnected', link, generation: generation(s, link), reason });
export const refused =
  (link: string, cause = 'certificate expired'): Act =>
  (s) => ({
    type: 'link-failed',
    link,
    generation: generation(s, link),
    diagnosis: { kind: 'certificate', cause },
  });
export const tick = (backlogRecords: number | null = 0): Act => ({ type: 'tick', backlogRecords });
/** The store unit of an envelope read (each carries three records). */
export const unit = (batchId: string): string => `unit:${batchId}`;
export const batches = (...names: string[]): Act => ({
  type: 'batches',
  batches: names.map((batchId) => ({
    batchId,
    unitId: unit(batchId),
    records: 3,
    plainBytes: 3_000,
    payloadBytes: 300,
  })),
  backlog: false,
});
/** Envelopes from a read that reached the backlog. */
export const backlogBatches = (...names: string[]): Act => ({
  ...(batches(...names) as Extract<FleetInput, { type: 'batches' }>),
  backlog: true,
});
export const puback = (sendId: number, reasonCode = 0): Act => ({
  type: 'puback',
  sendId,
  reasonCode,
  latencyMs: 5,
});
export const timeout = (sendId: number): Act => ({
  type: 'publish-failed',
  sendId,
  timedOut: true,
  reason: 'operation timed out',
});

/** Effects without log lines, and without generations (they only need to be new). */
export type Seen =
  { kind: 'start-link'; link: string } | Exclude<Effect, { kind: 'log' } | { kind: 'start-link' }>;

export function visible(effects: readonly Effect[]): Seen[] {
  const out: Seen[] = [];
  for (const e of effects) {
    if (e.kind === 'log') continue;
    out.push(e.kind === 'start-link' ? { kind: 'start-link', link: e.link } : e);
  }
  return out;
}

export const start = (link: string): Seen => ({ kind: 'start-link', link });
export const stop = (link: string): Seen => ({ kind: 'stop-link', link });
export const send = (batchId: string, sendId: number, link: string): Seen => ({
  kind: 'publish-batch',
  batchId,
  sendId,
  link,
});
export const ack = (batchId: string): Seen => ({ kind: 'ack', units: [unit(batchId)] });
export const release = (...batchIds: string[]): Seen => ({
  kind: 'release',
  units: batchIds.map(unit),
});
export const forget = (batchId: string): Seen => ({ kind: 'forget-batch', batchId });
export const probe = (link: string, probeId: number): Seen => ({ kind: 'probe', link, probeId });

/** One row of a scenario: at `atMs`, this input, and (when given) exactly these effects. */
export type Row = readonly [atMs: number, act: Act, expected?: readonly Seen[]];

/** Plays rows from a first step; checks each row's effects; returns the final state and every row's effects. */
export function play(
  first: Step,
  rows: readonly Row[],
): { state: FleetState; effects: Seen[][]; logs: string[] } {
  let state = first.state;
  const effects: Seen[][] = [];
  const logs: string[] = [];
  for (const [atMs, act, expected] of rows) {
    const input = typeof act === 'function' ? act(state) : act;
    const next = step(state, input, atMs);
    state = next.state;
    const seen = visible(next.effects);
    effects.push(seen);
    for (const e of next.effects) if (e.kind === 'log') logs.push(e.msg);
    if (expected !== undefined) {
      try {
        expect(seen).toEqual(expected);
      } catch (err) {
        throw new Error(`at ${atMs} ms (${input.type}): ${(err as Error).message}`);
      }
    }
  }
  return { state, effects, logs };
}
