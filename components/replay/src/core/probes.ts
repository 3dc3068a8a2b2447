import type { Acc, FleetInput } from './effects';
import { count, linkAnswered, regionEvent } from './fleet-updates';
import { isSuccessCode } from './health';

/**
 * QoS1 probes find a black hole on a connection with nothing else to send: every standby (and a region
 * judged down that is still connected) is probed each probeIntervalMs on its primary link, and so is the
 * active region while it has been idle that long. Two failures in a row make a region down.
 */

export function scheduleProbes(acc: Acc, nowMs: number): void {
  const interval = acc.state.plan.policy.health.probeIntervalMs;
  const probing = new Set([...acc.state.probes.values()].map((p) => p.link));
  for (const link of acc.state.links.values()) {
    if (link.slot !== 0 || !link.running || !link.connected || probing.has(link.key)) continue;
    const s = acc.state;
    if (link.region === s.active && nowMs - s.lastSendMs < interval) continue;
    if (nowMs - (s.lastProbeMs.get(link.key) ?? 0) < interval) continue;
    const probeId = s.nextProbeId;
    acc.state = {
      ...s,
      nextProbeId: probeId + 1,
      probes: new Map(s.probes).set(probeId, { link: link.key, sentAtMs: nowMs }),
      lastProbeMs: new Map(s.lastProbeMs).set(link.key, nowMs),
    };
    count(acc, link.region, { probes: 1 });
    acc.effects.push({ kind: 'probe', link: link.key, probeId });
  }
}

export function probeResult(
  acc: Acc,
  input: Extract<FleetInput, { type: 'probe-result' }>,
  nowMs: number,
): void {
  const probe = acc.state.probes.get(input.probeId);
  if (probe === undefined) return;
  const probes = new Map(acc.state.probes);
  probes.delete(input.probeId);
  acc.state = { ...acc.state, probes };
  const link = acc.state.links.get(probe.link);
  if (link === undefined) return;
  const region = link.region;
  const o = input.outcome;
  if (o.kind === 'puback') {
    linkAnswered(acc, link.key, probe.sentAtMs, nowMs, false);
    if (isSuccessCode(o.reasonCode))
      regionEvent(acc, region, { type: 'probe-ok', latencyMs: o.latencyMs }, nowMs);
    else
      regionEvent(
        acc,
        region,
        {
          type: 'puback',
          reasonCode: o.reasonCode,
          latencyMs: o.latencyMs,
          topic: acc.state.plan.topics.probe,
        },
        nowMs,
      );
    return;
  }
  count(acc, region, { failedProbes: 1 });
  if (o.timedOut)
    regionEvent(acc, region, { type: 'probe-failed', reason: `no PUBACK for a probe: ${o.reason}` }, nowMs);
}
