import type { ShadowReported, ShadowUpdate } from '../../../../shared/src/messages/cloud';

/**
 * When the DR shadow is updated: on change, at most every `minIntervalMs`, and again at the next
 * chance when an update did not get through. The age of the oldest record changes all the time and is
 * not a change on its own.
 */

export interface ShadowState {
  readonly lastAtMs: number;
  /** What was last sent, without the fields that change by themselves. */
  readonly lastKey: string;
}

export const SHADOW_NEVER_SENT: ShadowState = { lastAtMs: 0, lastKey: '' };

/** Whether an update may go now (what it would say is worked out only then). */
export function shadowDue(s: ShadowState, nowMs: number, minIntervalMs: number): boolean {
  return nowMs - s.lastAtMs >= minIntervalMs;
}

export function shadowUpdate(
  s: ShadowState,
  reported: ShadowReported,
  nowMs: number,
  minIntervalMs: number,
): { readonly state: ShadowState; readonly update: ShadowUpdate | null } {
  if (!shadowDue(s, nowMs, minIntervalMs)) return { state: s, update: null };
  const { oldestAgeMs: _age, updatedAtMs: _at, ...stable } = reported;
  const key = JSON.stringify(stable);
  if (key === s.lastKey) return { state: s, update: null };
  return { state: { lastAtMs: nowMs, lastKey: key }, update: { state: { reported } } };
}

/** An update that was refused or not acknowledged: send the state again at the next chance. */
export function shadowNotDelivered(s: ShadowState): ShadowState {
  return { ...s, lastKey: '' };
}
