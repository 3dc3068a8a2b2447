import type { SwitchKind } from '../../../../shared/src/messages/cloud';
import type { RegionHealth } from './health';

export type { SwitchKind };

export interface Selection {
  readonly active: string | null;
  readonly change?: {
    readonly kind: SwitchKind;
    readonly from: string | null;
    readonly to: string | null;
    /** When the condition behind the switch arose (the old region judged down, the new one healthy). */
    readonly detectedAtMs: number | null;
    readonly switchedAtMs: number;
    readonly reason: string;
  };
}

export interface SelectionInput {
  readonly regions: readonly RegionHealth[];
  readonly active: string | null;
  /** An operator's pin: only this region is used, even while it is down (data then waits in the store). */
  readonly pinned: string | null;
  /** A preferred region must have been healthy this long before traffic fails back to it. */
  readonly failbackHoldMs: number;
  /** No fail-back before this time (after an operator's failover command). */
  readonly noFailbackBeforeMs?: number;
  /**
   * With no active region, wait until this time for a preferred region that is still connecting
   * (at start, so the first choice is not a standby that happened to connect a moment earlier).
   */
  readonly awaitPreferredUntilMs?: number;
  readonly nowMs: number;
}

/** Preferred first: lower priority number, then name. */
export const byPriority = (
  a: Pick<RegionHealth, 'priority' | 'name'>,
  b: Pick<RegionHealth, 'priority' | 'name'>,
): number => a.priority - b.priority || a.name.localeCompare(b.name);

/**
 * Which region to send to. Failover is immediate when the active region is judged down; fail-back to a
 * preferred region waits until it has been healthy for the hold time, so a flapping region cannot drag
 * traffic back and forth.
 */
export function selectRegion(input: SelectionInput): Selection {
  const { regions, active, pinned, failbackHoldMs, nowMs } = input;
  const current = regions.find((r) => r.name === active);
  const healthy = regions.filter((r) => r.status === 'healthy').sort(byPriority);

  if (pinned !== null) {
    if (active === pinned) return { active };
    const target = regions.find((r) => r.name === pinned);
    if (target === undefined) return { active };
    return {
      active: pinned,
      change: {
        kind: 'pin',
        from: active,
        to: pinned,
        detectedAtMs: nowMs,
        switchedAtMs: nowMs,
        reason: `operator pinned ${pinned}`,
      },
    };
  }

  if (current !== undefined && current.status === 'healthy') {
    if (nowMs < (input.noFailbackBeforeMs ?? 0)) return { active };
    const better = healthy.find(
      (r) =>
        byPriority(r, current) < 0 && r.healthySinceMs !== null && nowMs - r.healthySinceMs >= failbackHoldMs,
    );
    if (better === undefined) return { active };
    return {
      active: better.name,
      change: {
        kind: 'failback',
        from: active,
        to: better.name,
        detectedAtMs: better.healthySinceMs,
        switchedAtMs: nowMs,
        reason: `${better.name} healthy for ${nowMs - (better.healthySinceMs ?? nowMs)} ms (hold ${failbackHoldMs} ms)`,
      },
    };
  }

  const best = healthy[0];
  if (
    active === null &&
    best !== undefined &&
    nowMs < (input.awaitPreferredUntilMs ?? 0) &&
    regions.some((r) => r.status === 'connecting' && byPriority(r, best) < 0)
  ) {
    return { active: null };
  }
  if (best === undefined) {
    if (active === null) return { active: null };
    return {
      active: null,
      change: {
        kind: 'all-down',
        from: active,
        to: null,
        detectedAtMs: current?.downSinceMs ?? nowMs,
        switchedAtMs: nowMs,
        reason: current?.reason ?? 'no region is healthy',
      },
    };
  }
  const kind: SwitchKind = active === null ? 'recovery' : 'failover';
  return {
    active: best.name,
    change: {
      kind,
      from: active,
      to: best.name,
      detectedAtMs: kind === 'failover' ? (current?.downSinceMs ?? nowMs) : (best.healthySinceMs ?? nowMs),
      switchedAtMs: nowMs,
      reason:
        kind === 'failover' ? (current?.reason ?? `${active ?? '?'} unavailable`) : `${best.name} is healthy`,
    },
  };
}
