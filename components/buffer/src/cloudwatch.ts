import { putMetricRequest, type Metric, type PutMetricRequest } from '../../../shared/src/cloudwatch';
import type { StoreMetrics } from '../../../shared/src/store';

/**
 * The suite's figures as CloudWatch metrics, gathered in one place: the Buffer owns the store (backlog,
 * oldest record age, dead letters) and listens to the suite's own topics for the rest (Replay's status:
 * healthy regions and failovers; Inference's alerts: anomaly onsets), so no other component carries
 * CloudWatch code. Counters are sent as the increase since the previous publish.
 */
export class CloudWatchTranslator {
  private healthyRegions: number | null = null;
  private failoversTotal: number | null = null;
  private failoversSent: number | null = null;
  private anomalies = 0;
  private deadLettersSent: number | null = null;

  constructor(
    private readonly namespace: string,
    private readonly thing: string,
  ) {}

  /** Replay's local status document (`regionHealth`, `switches`). */
  onReplayStatus(status: unknown): void {
    if (typeof status !== 'object' || status === null) return;
    const s = status as { regionHealth?: unknown; switches?: unknown };
    if (typeof s.regionHealth === 'object' && s.regionHealth !== null)
      this.healthyRegions = Object.values(s.regionHealth as Record<string, { status?: unknown }>).filter(
        (h) => h?.status === 'healthy',
      ).length;
    if (typeof s.switches === 'object' && s.switches !== null) {
      const sw = s.switches as Record<string, unknown>;
      const n = (k: string): number => (typeof sw[k] === 'number' ? sw[k] : 0);
      this.failoversTotal = n('failover') + n('all-down');
    }
  }

  /** Inference's alert events: onsets count as anomalies. */
  onAnomaly(event: unknown): void {
    if (typeof event === 'object' && event !== null && (event as { state?: unknown }).state === 'onset')
      this.anomalies += 1;
  }

  requests(store: StoreMetrics | null, nowMs: number): PutMetricRequest[] {
    const metric = (name: string, value: number, unit: Metric['unit']): Metric => ({
      name,
      value,
      unit,
      timestampMs: nowMs,
      dimensions: { Thing: this.thing },
    });
    const out: Metric[] = [];
    if (store !== null) {
      const depth = store.lanes.alert.depth + store.lanes.telemetry.depth;
      out.push(metric('BacklogRecords', depth, 'Count'));
      const ages = [store.lanes.alert.oldestAgeMs, store.lanes.telemetry.oldestAgeMs].filter(
        (a): a is number => a !== null,
      );
      out.push(metric('OldestRecordAgeMs', ages.length === 0 ? 0 : Math.max(...ages), 'Milliseconds'));
      const dead = store.deadLettersTotal;
      out.push(metric('DeadLetters', Math.max(0, dead - (this.deadLettersSent ?? dead)), 'Count'));
      this.deadLettersSent = dead;
    }
    if (this.healthyRegions !== null) out.push(metric('HealthyRegions', this.healthyRegions, 'Count'));
    if (this.failoversTotal !== null) {
      // A restarted Replay counts from 0 again: a lower total is a new start, not a negative increase.
      const since =
        this.failoversSent === null || this.failoversTotal < this.failoversSent ? 0 : this.failoversSent;
      out.push(metric('Failovers', this.failoversSent === null ? 0 : this.failoversTotal - since, 'Count'));
      this.failoversSent = this.failoversTotal;
    }
    out.push(metric('Anomalies', this.anomalies, 'Count'));
    this.anomalies = 0;
    return out.map((m) => putMetricRequest(this.namespace, m));
  }
}
