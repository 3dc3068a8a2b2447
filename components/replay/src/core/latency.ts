/**
 * How long a link normally takes to answer, as the basis for calling a PUBACK late. A sample is the
 * time from when the link could start on a publish (its send, or the previous PUBACK on the link if that
 * came later) to its PUBACK: on an idle link that is the round trip, on a busy one the time each publish
 * waits its turn (IoT Core flow control queues publishes in the client). Smoothed like TCP's
 * retransmission timer (RFC 6298): mean and mean deviation, and "late" is mean + 4 deviations.
 */
export interface ServiceTime {
  readonly samples: number;
  readonly meanMs: number;
  readonly deviationMs: number;
}

export const NO_SAMPLES: ServiceTime = { samples: 0, meanMs: 0, deviationMs: 0 };

const ALPHA = 1 / 8;
const BETA = 1 / 4;

export function addSample(s: ServiceTime, sampleMs: number): ServiceTime {
  const x = Math.max(0, sampleMs);
  if (s.samples === 0) return { samples: 1, meanMs: x, deviationMs: x / 2 };
  return {
    samples: s.samples + 1,
    meanMs: s.meanMs + ALPHA * (x - s.meanMs),
    deviationMs: s.deviationMs + BETA * (Math.abs(x - s.meanMs) - s.deviationMs),
  };
}

export interface LatePolicy {
  /** Never earlier than this, however fast the link has been. */
  readonly minDelayMs: number;
  /** Never later than this (and, with too few samples to judge, exactly this). */
  readonly maxDelayMs: number;
}

/** Samples needed before the link's own figures are trusted. */
const MIN_SAMPLES = 4;

/** After how long without a PUBACK a publish on this link counts as late. */
export function lateAfterMs(s: ServiceTime, policy: LatePolicy): number {
  if (s.samples < MIN_SAMPLES) return policy.maxDelayMs;
  const rto = s.meanMs + 4 * s.deviationMs;
  return Math.round(Math.min(policy.maxDelayMs, Math.max(policy.minDelayMs, rto)));
}
