import {
  initialHealth,
  isThrottled,
  nextHealth,
  PUBACK,
  retryMisconfigured,
  type HealthPolicy,
  type RegionEvent,
  type RegionHealth,
} from '../../components/replay/src/core/health';
import { selectRegion } from '../../components/replay/src/core/selection';

const policy: HealthPolicy = {
  maxConsecutiveFailures: 2,
  quotaBackoffMs: 1_000,
  misconfiguredRetryMs: 60_000,
};

/** Replays timed events on a region. */
function play(start: RegionHealth, events: readonly [number, RegionEvent][]): RegionHealth {
  return events.reduce((h, [t, e]) => nextHealth(h, e, t, policy), start);
}

const ok = (latencyMs = 20): RegionEvent => ({ type: 'puback', reasonCode: 0, latencyMs, topic: 't' });

describe('region health', () => {
  it.each<[string, [number, RegionEvent][], Partial<RegionHealth>]>([
    [
      'a connection makes it healthy',
      [[10, { type: 'connected' }]],
      { status: 'healthy', healthySinceMs: 10 },
    ],
    [
      '0x10 counts as success',
      [
        [0, { type: 'connected' }],
        [5, { type: 'puback', reasonCode: 0x10, latencyMs: 8, topic: 't' }],
      ],
      { status: 'healthy', lastSuccessMs: 5 },
    ],
    [
      'a disconnection makes it down, naming the region',
      [
        [0, { type: 'connected' }],
        [7, { type: 'disconnected', reason: 'socket closed' }],
      ],
      { status: 'down', downSinceMs: 7, reason: 'eu: disconnected: socket closed' },
    ],
    [
      'a TLS failure names the region and cause',
      [[3, { type: 'connect-failed', reason: 'TLS: certificate has expired' }]],
      { status: 'down', reason: 'eu: cannot connect: TLS: certificate has expired' },
    ],
    [
      'one timeout is tolerated',
      [
        [0, { type: 'connected' }],
        [100, { type: 'publish-timeout', topic: 't' }],
      ],
      { status: 'healthy', consecutiveFailures: 1 },
    ],
    [
      'two timeouts in a row: a black hole, down',
      [
        [0, { type: 'connected' }],
        [100, { type: 'publish-timeout', topic: 't' }],
        [200, { type: 'publish-timeout', topic: 't' }],
      ],
      { status: 'down', downSinceMs: 200 },
    ],
    [
      'a success in between resets the count',
      [
        [0, { type: 'connected' }],
        [100, { type: 'publish-timeout', topic: 't' }],
        [150, ok()],
        [200, { type: 'publish-timeout', topic: 't' }],
      ],
      { status: 'healthy', consecutiveFailures: 1 },
    ],
    [
      '0x87 marks it misconfigured, loudly, with the topic',
      [
        [0, { type: 'connected' }],
        [9, { type: 'puback', reasonCode: 0x87, latencyMs: 5, topic: 'dt/gw/batch' }],
      ],
      {
        status: 'misconfigured',
        reason: 'eu: publish to dt/gw/batch refused: not authorized (0x87); check the IoT policy and topic',
      },
    ],
    [
      '0x90 marks it misconfigured',
      [
        [0, { type: 'connected' }],
        [9, { type: 'puback', reasonCode: 0x90, latencyMs: 5, topic: 'bad#' }],
      ],
      { status: 'misconfigured' },
    ],
    [
      'a reconnection does not clear misconfiguration',
      [
        [0, { type: 'puback', reasonCode: 0x87, latencyMs: 5, topic: 't' }],
        [5, { type: 'connected' }],
        [6, ok()],
      ],
      { status: 'misconfigured' },
    ],
    [
      'probes keep a warm standby healthy',
      [
        [0, { type: 'connected' }],
        [1_000, { type: 'probe-ok', latencyMs: 30 }],
      ],
      { status: 'healthy', lastSuccessMs: 1_000 },
    ],
    [
      'failed probes take a standby down',
      [
        [0, { type: 'connected' }],
        [1, { type: 'probe-failed', reason: 'timeout' }],
        [2, { type: 'probe-failed', reason: 'timeout' }],
      ],
      { status: 'down' },
    ],
    [
      'a refused certificate marks it misconfigured with the cause',
      [
        [0, { type: 'connected' }],
        [4, { type: 'refused', reason: 'certificate /c.pem expired on 2026-01-01T00:00:00.000Z' }],
        [5, { type: 'connected' }],
      ],
      {
        status: 'misconfigured',
        downSinceMs: 4,
        reason: 'eu: certificate /c.pem expired on 2026-01-01T00:00:00.000Z',
      },
    ],
    [
      'other error codes count as failures',
      [
        [0, { type: 'connected' }],
        [1, { type: 'puback', reasonCode: 0x80, latencyMs: 1, topic: 't' }],
        [2, { type: 'puback', reasonCode: 0x83, latencyMs: 1, topic: 't' }],
      ],
      { status: 'down' },
    ],
  ])('%s', (_, events, expected) => {
    expect(play(initialHealth('eu', 1), events)).toMatchObject(expected);
  });

  it('slows down on 0x97 quota exceeded without leaving the region', () => {
    const h = play(initialHealth('eu', 1), [
      [0, { type: 'connected' }],
      [100, { type: 'puback', reasonCode: PUBACK.quotaExceeded, latencyMs: 5, topic: 't' }],
    ]);
    expect(h.status).toBe('healthy');
    expect(isThrottled(h, 500)).toBe(true);
    expect(isThrottled(h, 1_100)).toBe(false);
  });

  it('smooths PUBACK latency', () => {
    const h = play(initialHealth('eu', 1), [
      [0, { type: 'connected' }],
      [1, ok(100)],
      [2, ok(200)],
    ]);
    expect(h.latencyMs).toBeCloseTo(120);
  });

  it('retries a misconfigured region after its retry time', () => {
    const h = play(initialHealth('eu', 1), [
      [1_000, { type: 'puback', reasonCode: 0x87, latencyMs: 5, topic: 't' }],
    ]);
    expect(retryMisconfigured(h, 30_000, policy).status).toBe('misconfigured');
    expect(retryMisconfigured(h, 61_000, policy).status).toBe('connecting');
  });
});

function region(
  name: string,
  priority: number,
  status: RegionHealth['status'],
  healthySinceMs: number | null = null,
  downSinceMs: number | null = null,
): RegionHealth {
  return {
    ...initialHealth(name, priority),
    status,
    healthySinceMs,
    downSinceMs,
    reason: status === 'down' ? `${name}: black hole` : null,
  };
}

describe('region selection', () => {
  const hold = 30_000;
  const select = (
    regions: RegionHealth[],
    active: string | null,
    nowMs: number,
    pinned: string | null = null,
  ) => selectRegion({ regions, active, pinned, failbackHoldMs: hold, nowMs });

  it('starts on the preferred healthy region', () => {
    expect(select([region('a', 1, 'healthy', 0), region('b', 2, 'healthy', 0)], null, 10)).toMatchObject({
      active: 'a',
      change: { kind: 'recovery', to: 'a' },
    });
  });

  it('fails over at once when the active region is judged down, with detection and switch times', () => {
    const s = select([region('a', 1, 'down', null, 5_000), region('b', 2, 'healthy', 0)], 'a', 5_010);
    expect(s).toEqual({
      active: 'b',
      change: {
        kind: 'failover',
        from: 'a',
        to: 'b',
        detectedAtMs: 5_000,
        switchedAtMs: 5_010,
        reason: 'a: black hole',
      },
    });
  });

  it('stays on the standby until the preferred region has been healthy for the hold time', () => {
    const regions = [region('a', 1, 'healthy', 100_000), region('b', 2, 'healthy', 0)];
    expect(select(regions, 'b', 100_000 + hold - 1)).toEqual({ active: 'b' });
    expect(select(regions, 'b', 100_000 + hold)).toMatchObject({
      active: 'a',
      change: { kind: 'failback', from: 'b', detectedAtMs: 100_000 },
    });
  });

  it('does not flap: a preferred region that drops during the hold starts its hold again', () => {
    let a = region('a', 1, 'healthy', 100_000);
    const b = region('b', 2, 'healthy', 0);
    expect(select([a, b], 'b', 110_000)).toEqual({ active: 'b' });
    a = nextHealth(a, { type: 'disconnected', reason: 'flap' }, 115_000, policy);
    a = nextHealth(a, { type: 'connected' }, 120_000, policy);
    expect(select([a, b], 'b', 140_000)).toEqual({ active: 'b' }); // 20 s since the flap, not 40 s
    expect(select([a, b], 'b', 150_000).active).toBe('a');
  });

  it('goes to no region when all are down, and recovers to whichever comes back first', () => {
    const down = [region('a', 1, 'down', null, 1), region('b', 2, 'down', null, 2)];
    expect(select(down, 'b', 10)).toMatchObject({ active: null, change: { kind: 'all-down', from: 'b' } });
    expect(select(down, null, 20)).toEqual({ active: null });
    expect(select([region('a', 1, 'down', null, 1), region('b', 2, 'healthy', 30)], null, 31)).toMatchObject({
      active: 'b',
      change: { kind: 'recovery' },
    });
  });

  it('after an operator failover, does not fail back before the given time', () => {
    const regions = [region('a', 1, 'healthy', 0), region('b', 2, 'healthy', 0)];
    const at = (nowMs: number) =>
      selectRegion({
        regions,
        active: 'b',
        pinned: null,
        failbackHoldMs: hold,
        noFailbackBeforeMs: 90_000,
        nowMs,
      });
    expect(at(89_999)).toEqual({ active: 'b' });
    expect(at(90_000)).toMatchObject({ active: 'a', change: { kind: 'failback' } });
  });

  it('at start, waits a while for a preferred region that is still connecting', () => {
    const regions = [region('a', 1, 'connecting'), region('b', 2, 'healthy', 0)];
    const at = (nowMs: number) =>
      selectRegion({
        regions,
        active: null,
        pinned: null,
        failbackHoldMs: hold,
        awaitPreferredUntilMs: 5_000,
        nowMs,
      });
    expect(at(4_999)).toEqual({ active: null });
    expect(at(5_000)).toMatchObject({ active: 'b', change: { kind: 'recovery' } });
    // A preferred region that is down, not connecting, is not waited for.
    const down = [region('a', 1, 'down', null, 1), region('b', 2, 'healthy', 0)];
    expect(
      selectRegion({
        regions: down,
        active: null,
        pinned: null,
        failbackHoldMs: hold,
        awaitPreferredUntilMs: 5_000,
        nowMs: 10,
      }).active,
    ).toBe('b');
  });

  it('never selects a misconfigured region', () => {
    expect(select([region('a', 1, 'misconfigured'), region('b', 2, 'healthy', 0)], 'a', 10).active).toBe('b');
  });

  it('honours an operator pin, even to a lower-priority or down region', () => {
    const regions = [region('a', 1, 'healthy', 0), region('b', 2, 'down', null, 5)];
    expect(select(regions, 'a', 10, 'b')).toMatchObject({
      active: 'b',
      change: { kind: 'pin', from: 'a', to: 'b' },
    });
    expect(select(regions, 'b', 20, 'b')).toEqual({ active: 'b' });
    expect(select(regions, 'a', 10, 'nope')).toEqual({ active: 'a' });
  });
});
