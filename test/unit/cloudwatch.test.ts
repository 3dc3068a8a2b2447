import { CloudWatchTranslator } from '../../components/buffer/src/cloudwatch';
import { putMetricRequest } from '../../shared/src/cloudwatch';
import { jsonMessageProblem, subscriberArenaBytes } from '../../shared/src/messages/ipc-limits';
import type { StoreMetrics } from '../../shared/src/store';

const store = (
  over: { alert?: number; telemetry?: number; ageMs?: number | null; dead?: number } = {},
): StoreMetrics =>
  ({
    lanes: {
      alert: { depth: over.alert ?? 0, bytes: 0, oldestTsMs: null, oldestAgeMs: null },
      telemetry: { depth: over.telemetry ?? 0, bytes: 0, oldestTsMs: null, oldestAgeMs: over.ageMs ?? null },
    },
    deadLettersTotal: over.dead ?? 0,
  }) as unknown as StoreMetrics;

const byName = (requests: ReturnType<CloudWatchTranslator['requests']>): Record<string, number> =>
  Object.fromEntries(requests.map((r) => [r.request.metricData.metricName, r.request.metricData.value]));

describe('CloudWatch metrics in the aws.greengrass.Cloudwatch request format', () => {
  it('one metric per request, epoch seconds, the Thing dimension, inside nucleus lite IPC limits', () => {
    const r = putMetricRequest('EdgeDR', {
      name: 'OldestRecordAgeMs',
      value: 1234,
      unit: 'Milliseconds',
      timestampMs: 1_790_000_000_999,
      dimensions: { Thing: 'pump-station-7' },
    });
    expect(r).toEqual({
      request: {
        namespace: 'EdgeDR',
        metricData: {
          metricName: 'OldestRecordAgeMs',
          value: 1234,
          unit: 'Milliseconds',
          timestamp: 1_790_000_000,
          dimensions: [{ name: 'Thing', value: 'pump-station-7' }],
        },
      },
    });
    expect(jsonMessageProblem('cloudwatch/metric/put', r)).toBeUndefined();
    expect(subscriberArenaBytes(r)).toBeLessThanOrEqual(550);
    expect(() =>
      putMetricRequest('AWS/IoT', { ...r.request.metricData, name: 'x', timestampMs: 0, dimensions: {} }),
    ).toThrow(/reserved/);
    expect(() =>
      putMetricRequest('EdgeDR', { name: 'x', value: NaN, unit: 'Count', timestampMs: 0, dimensions: {} }),
    ).toThrow(/refuses NaN/);
  });

  it.each([
    [
      'store only',
      [] as unknown[],
      [] as unknown[],
      [store({ alert: 2, telemetry: 40, ageMs: 9_000, dead: 3 })],
      { BacklogRecords: 42, OldestRecordAgeMs: 9_000, DeadLetters: 0, Anomalies: 0 },
    ],
    [
      'status and alerts',
      [
        {
          regionHealth: { a: { status: 'healthy' }, b: { status: 'down' } },
          switches: { failover: 2, failback: 1 },
        },
      ],
      [{ state: 'onset' }, { state: 'recovery' }, { state: 'onset' }],
      [store()],
      { HealthyRegions: 1, Failovers: 0, Anomalies: 2 },
    ],
  ])('%s', (_, statuses, alerts, stores, expected) => {
    const t = new CloudWatchTranslator('EdgeDR', 'gw');
    statuses.forEach((s) => t.onReplayStatus(s));
    alerts.forEach((a) => t.onAnomaly(a));
    expect(byName(t.requests(stores[0] ?? null, 0))).toMatchObject(expected);
  });

  it('counters go out as increases: dead letters and failovers since the last publish, a restarted Replay from 0', () => {
    const t = new CloudWatchTranslator('EdgeDR', 'gw');
    t.onReplayStatus({ regionHealth: {}, switches: { failover: 1 } });
    expect(byName(t.requests(store({ dead: 5 }), 0))).toMatchObject({
      DeadLetters: 0,
      Failovers: 0,
      HealthyRegions: 0,
    });
    t.onReplayStatus({ regionHealth: {}, switches: { failover: 3, 'all-down': 1 } });
    expect(byName(t.requests(store({ dead: 9 }), 1))).toMatchObject({ DeadLetters: 4, Failovers: 3 });
    t.onReplayStatus({ regionHealth: {}, switches: { failover: 1 } }); // Replay restarted
    expect(byName(t.requests(store({ dead: 9 }), 2))).toMatchObject({ DeadLetters: 0, Failovers: 1 });
    expect(t.requests(null, 3).map((r) => r.request.metricData.metricName)).toEqual([
      'HealthyRegions',
      'Failovers',
      'Anomalies',
    ]);
  });
});
