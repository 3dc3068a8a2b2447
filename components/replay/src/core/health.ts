import type { RegionStatus } from '../../../../shared/src/messages/cloud';

/**
 * Region health, as pure state transitions: (health, event, nowMs) -> health. No I/O, no clocks: the
 * Replay shell feeds it connection events, PUBACKs, timeouts and probe results with explicit times.
 */

export type { RegionStatus };

export interface RegionHealth {
  readonly name: string;
  /** Lower is preferred. */
  readonly priority: number;
  readonly status: RegionStatus;
  /** Since when the region has been healthy without interruption (fail-back hold). */
  readonly healthySinceMs: number | null;
  /** When the region was judged down or misconfigured. */
  readonly downSinceMs: number | null;
  readonly lastSuccessMs: number | null;
  readonly consecutiveFailures: number;
  /** Smoothed PUBACK latency. */
  readonly latencyMs: number | null;
  /** IoT Core said "quota exceeded" (0x97): send slower until then. */
  readonly throttledUntilMs: number | null;
  /** Why the region is down or misconfigured, naming the region's cause (TLS, ACL and topic). */
  readonly reason: string | null;
}

export type RegionEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected'; readonly reason: string }
  | { readonly type: 'connect-failed'; readonly reason: string }
  | {
      readonly type: 'puback';
      readonly reasonCode: number;
      readonly latencyMs: number;
      readonly topic: string;
    }
  | { readonly type: 'publish-timeout'; readonly topic: string }
  | { readonly type: 'probe-ok'; readonly latencyMs: number }
  | { readonly type: 'probe-failed'; readonly reason: string }
  /** A PUBACK was overdue and another region acknowledged the hedged copy first. */
  | { readonly type: 'overtaken'; readonly by: string; readonly overdueMs: number }
  /** The region refuses us for a reason retrying will not fix (certificate, CA, key). */
  | { readonly type: 'refused'; readonly reason: string };

export interface HealthPolicy {
  /** Timeouts or failed probes in a row that make a connected region down (a black hole). */
  readonly maxConsecutiveFailures: number;
  /** How long to slow down after 0x97 quota exceeded. */
  readonly quotaBackoffMs: number;
  /** A misconfigured region is retried after this long (its policy may have been fixed in the cloud). */
  readonly misconfiguredRetryMs: number;
}

/** MQTT5 PUBACK reason codes from IoT Core (GREENGRASS.md, "IoT Core per-connection limits"). */
export const PUBACK = {
  success: 0x00,
  noMatchingSubscribers: 0x10,
  unspecified: 0x80,
  notAuthorized: 0x87,
  topicNameInvalid: 0x90,
  quotaExceeded: 0x97,
} as const;

/** 0x00 and 0x10 (no matching subscribers) both mean the region took the message. */
export function isSuccessCode(code: number): boolean {
  return code === PUBACK.success || code === PUBACK.noMatchingSubscribers;
}

export function initialHealth(name: string, priority: number): RegionHealth {
  return {
    name,
    priority,
    status: 'connecting',
    healthySinceMs: null,
    downSinceMs: null,
    lastSuccessMs: null,
    consecutiveFailures: 0,
    latencyMs: null,
    throttledUntilMs: null,
    reason: null,
  };
}

const LATENCY_WEIGHT = 0.2;

function succeeded(h: RegionHealth, nowMs: number, latencyMs: number): RegionHealth {
  if (h.status === 'misconfigured') return h; // a success on a probe does not clear an ACL problem
  return {
    ...h,
    status: 'healthy',
    healthySinceMs: h.status === 'healthy' ? h.healthySinceMs : nowMs,
    downSinceMs: null,
    lastSuccessMs: nowMs,
    consecutiveFailures: 0,
    latencyMs: h.latencyMs === null ? latencyMs : h.latencyMs + LATENCY_WEIGHT * (latencyMs - h.latencyMs),
    reason: null,
  };
}

function down(h: RegionHealth, nowMs: number, reason: string): RegionHealth {
  return {
    ...h,
    status: 'down',
    healthySinceMs: null,
    downSinceMs: h.status === 'down' ? h.downSinceMs : nowMs,
    reason: `${h.name}: ${reason}`,
  };
}

function failed(h: RegionHealth, nowMs: number, policy: HealthPolicy, reason: string): RegionHealth {
  const failures = h.consecutiveFailures + 1;
  const next = { ...h, consecutiveFailures: failures };
  if (h.status === 'misconfigured' || h.status === 'down') return next;
  return failures >= policy.maxConsecutiveFailures ? down(next, nowMs, reason) : next;
}

export function nextHealth(
  h: RegionHealth,
  event: RegionEvent,
  nowMs: number,
  policy: HealthPolicy,
): RegionHealth {
  switch (event.type) {
    case 'connected':
      // A fresh connection is not proof of delivery; the region is healthy once connected, and
      // the first timeout counts against it. A misconfigured region stays so until its retry time.
      if (h.status === 'misconfigured') return h;
      return {
        ...h,
        status: 'healthy',
        healthySinceMs: nowMs,
        downSinceMs: null,
        consecutiveFailures: 0,
        reason: null,
      };
    case 'disconnected':
      return h.status === 'misconfigured' ? h : down(h, nowMs, `disconnected: ${event.reason}`);
    case 'connect-failed':
      return h.status === 'misconfigured' ? h : down(h, nowMs, `cannot connect: ${event.reason}`);
    case 'puback': {
      const code = event.reasonCode;
      if (isSuccessCode(code)) return succeeded(h, nowMs, event.latencyMs);
      if (code === PUBACK.quotaExceeded) {
        return { ...h, throttledUntilMs: nowMs + policy.quotaBackoffMs, lastSuccessMs: h.lastSuccessMs };
      }
      if (code === PUBACK.notAuthorized || code === PUBACK.topicNameInvalid) {
        const what = code === PUBACK.notAuthorized ? 'not authorized (0x87)' : 'topic name invalid (0x90)';
        return {
          ...h,
          status: 'misconfigured',
          healthySinceMs: null,
          downSinceMs: nowMs,
          reason: `${h.name}: publish to ${event.topic} refused: ${what}; check the IoT policy and topic`,
        };
      }
      return failed(h, nowMs, policy, `PUBACK reason code 0x${code.toString(16)} on ${event.topic}`);
    }
    case 'publish-timeout':
      return failed(h, nowMs, policy, `no PUBACK for a publish to ${event.topic}`);
    case 'probe-ok':
      return succeeded(h, nowMs, event.latencyMs);
    case 'probe-failed':
      return failed(h, nowMs, policy, `probe failed: ${event.reason}`);
    case 'overtaken':
      return failed(
        h,
        nowMs,
        policy,
        `no PUBACK for ${event.overdueMs} ms; ${event.by} acknowledged the hedged copy first`,
      );
    case 'refused':
      return {
        ...h,
        status: 'misconfigured',
        healthySinceMs: null,
        downSinceMs: nowMs,
        reason: `${h.name}: ${event.reason}`,
      };
  }
}

/** A misconfigured region gets another chance after misconfiguredRetryMs (the cloud side may be fixed). */
export function retryMisconfigured(h: RegionHealth, nowMs: number, policy: HealthPolicy): RegionHealth {
  if (
    h.status !== 'misconfigured' ||
    h.downSinceMs === null ||
    nowMs - h.downSinceMs < policy.misconfiguredRetryMs
  )
    return h;
  return { ...h, status: 'connecting', consecutiveFailures: 0 };
}

export function isThrottled(h: RegionHealth, nowMs: number): boolean {
  return h.throttledUntilMs !== null && nowMs < h.throttledUntilMs;
}
