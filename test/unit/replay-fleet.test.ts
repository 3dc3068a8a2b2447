import { nextDeadlineMs, startFleet } from '../../components/replay/src/core/fleet';
import type { FleetPlan } from '../../components/replay/src/core/fleet-state';
import { readBudget } from '../../components/replay/src/core/sending';
import {
  ack,
  backlogBatches,
  batches,
  down,
  forget,
  play,
  plan,
  POLICY,
  probe,
  puback,
  refused,
  release,
  send,
  start,
  stop,
  tick,
  timeout,
  up,
  visible,
  type Row,
} from '../support/fleet';

/** No probes unless a test is about them: they would only add rows to every table. */
const QUIET = { health: { ...POLICY.health, probeIntervalMs: 1e9 } };
const two = (extra: Partial<FleetPlan['policy']> = {}): FleetPlan =>
  plan([{ name: 'a' }, { name: 'b' }], { ...QUIET, ...extra });
const begin = (p: FleetPlan, pinnedRegion: string | null = null) =>
  startFleet(p, { pinnedRegion, paused: false }, 0);

/** Both regions of `two()` connected, `a` active. */
const CONNECTED: Row[] = [
  [10, up('a'), []],
  [11, up('b'), []],
];

describe('fleet core: start', () => {
  it.each<[string, FleetPlan, string | null, string[]]>([
    ['warm regions all connect', two(), null, ['a', 'b']],
    ['a cold standby waits', plan([{ name: 'a' }, { name: 'c', standby: 'cold' }], QUIET), null, ['a']],
    [
      'a pinned cold standby connects at once',
      plan([{ name: 'a' }, { name: 'c', standby: 'cold' }], QUIET),
      'c',
      ['a', 'c'],
    ],
    ['drain links wait for a backlog', plan([{ name: 'a', drainLinks: 3 }], QUIET), null, ['a']],
  ])('%s', (_, p, pinned, links) => {
    expect(visible(begin(p, pinned).effects)).toEqual(links.map(start));
  });
});

describe('fleet core: failover releases or resends what was in flight', () => {
  it('a disconnected region: its envelopes go to the next region as they are, even beyond that one’s usual window', () => {
    const { state } = play(begin(two()), [
      ...CONNECTED,
      [20, batches('e1', 'e2', 'e3'), [send('e1', 1, 'a'), send('e2', 2, 'a'), send('e3', 3, 'a')]],
      [30, down('a'), [send('e1', 4, 'b'), send('e2', 5, 'b'), send('e3', 6, 'b')]],
      // The failed sends on a settle nothing: the copies on b are pending.
      [31, { type: 'publish-failed', sendId: 1, timedOut: false, reason: 'disconnected' }, []],
      [40, puback(4), [ack('e1'), forget('e1')]],
    ]);
    expect(state.active).toBe('b');
    expect(state.hedges).toMatchObject({ failoverEnvelopes: 3, failoverRecords: 9 });
    expect(state.releasedForResend).toBe(0);
    expect(state.switches.at(-1)).toMatchObject({ kind: 'failover', from: 'a', to: 'b', firstAckMs: 40 });
  });

  it('with no region left to take them, envelopes in flight go back to the store at once', () => {
    const { state } = play(begin(two()), [
      ...CONNECTED,
      [20, batches('e1', 'e2'), [send('e1', 1, 'a'), send('e2', 2, 'a')]],
      [25, down('b'), []],
      [30, down('a'), [release('e1', 'e2')]],
      [31, { type: 'publish-failed', sendId: 1, timedOut: false, reason: 'disconnected' }, [forget('e1')]],
    ]);
    expect(state.active).toBeNull();
    expect(state.releasedForResend).toBe(6);
  });

  it('envelopes read just as the last region went down go back to the store, and their payloads are dropped', () => {
    // The shell keeps every envelope handed to the core until the core forgets it: one given back without
    // a send must be forgotten too, or the shell holds it for good (Replay grew by every such read).
    play(begin(two()), [
      ...CONNECTED,
      [25, down('b'), []],
      [30, down('a'), []],
      [31, batches('e1', 'e2'), [release('e1', 'e2'), forget('e1'), forget('e2')]],
    ]);
  });

  it('a black hole: timeouts release their envelopes; when the region is judged down the rest go to the next one; a late PUBACK still deletes, and the copy is a counted duplicate', () => {
    const { state } = play(begin(two({ hedging: { ...POLICY.hedging, enabled: false } })), [
      ...CONNECTED,
      [20, batches('e1', 'e2', 'e3'), [send('e1', 1, 'a'), send('e2', 2, 'a'), send('e3', 3, 'a')]],
      [3_020, timeout(1), [release('e1'), forget('e1')]],
      [3_021, timeout(2), [release('e2'), forget('e2'), send('e3', 4, 'b')]],
      [3_500, puback(3), [ack('e3')]],
      [3_501, puback(4), [forget('e3')]],
    ]);
    expect(state.active).toBe('b');
    expect(state.hedges).toMatchObject({ duplicateEnvelopes: 1, duplicateRecords: 3 });
  });

  it('on a fail-back, envelopes in flight to the healthy old region are left to complete', () => {
    play(begin(two()), [
      [10, up('b'), []],
      [2_000, tick(), []], // a never connected in time: b is chosen
      [2_010, batches('e1'), [send('e1', 1, 'b')]],
      [2_020, up('a'), []],
      [32_020, tick(), []], // fail-back after the hold; e1 stays on b
      [32_030, puback(1), [ack('e1'), forget('e1')]],
    ]);
  });
});

describe('fleet core: cold standbys', () => {
  const cold = plan([{ name: 'a' }, { name: 'c', standby: 'cold' }], QUIET);

  it('connect only while no better region is healthy, and stop once fail-back has drained what they held', () => {
    const { state } = play(begin(cold), [
      [10, up('a'), []],
      // Within the first connect timeout, a region that is down does not call in the cold standby yet.
      [1_000, down('a'), []],
      [2_000, tick(), [start('c')]],
      [2_100, up('c'), []],
      [2_200, batches('e1'), [send('e1', 1, 'c')]],
      [2_210, puback(1), [ack('e1'), forget('e1')]],
      [2_300, up('a'), []],
      [32_290, batches('e2'), [send('e2', 2, 'c')]],
      [32_299, tick(), []],
      // Fail-back: c is no longer wanted, but an envelope is in flight there.
      [32_300, tick(), []],
      [32_310, puback(2), [ack('e2'), forget('e2'), stop('c')]],
    ]);
    expect(state.active).toBe('a');
    expect(state.health.get('c')?.status).toBe('connecting');
  });

  it('a pinned cold standby connects and stays', () => {
    const { state } = play(begin(cold, 'c'), [
      [10, up('a'), []],
      [20, up('c'), []],
      [60_000, tick(), []],
    ]);
    expect(state.active).toBe('c');
    expect(state.links.get('c')?.running).toBe(true);
  });
});

describe('fleet core: misconfigured regions are rebuilt after the retry time', () => {
  it('a refused certificate stops the link; the retry starts a fresh client', () => {
    const { state } = play(begin(two()), [
      [10, refused('a'), [stop('a')]],
      [20, up('b'), []],
      [60_009, tick(), []],
      [60_010, tick(), [start('a')]],
      [60_020, up('a'), []],
    ]);
    expect(state.health.get('a')?.status).toBe('healthy');
    expect(state.active).toBe('b'); // fail-back waits for the hold
  });

  it('an ACL refusal (0x87) keeps the link; the retry rebuilds it', () => {
    const { state } = play(begin(two()), [
      ...CONNECTED,
      [20, batches('e1'), [send('e1', 1, 'a')]],
      [30, puback(1, 0x87), [release('e1'), forget('e1')]],
      [60_029, tick(), []],
      [60_030, tick(), [stop('a'), start('a')]],
    ]);
    expect(state.active).toBe('b');
    expect(state.health.get('a')?.status).toBe('connecting');
  });

  it('a refused drain link stops until the retry time, while the primary carries on', () => {
    const p = plan([{ name: 'a', drainLinks: 1 }], QUIET);
    const { state } = play(begin(p), [
      [10, up('a'), []],
      [20, tick(500), [start('a/drain-1')]],
      [30, refused('a/drain-1', 'client id not allowed'), [stop('a/drain-1')]],
      [40, tick(500), []],
      [60_030, tick(500), [start('a/drain-1')]],
    ]);
    expect(state.health.get('a')?.status).toBe('healthy');
  });
});

describe('fleet core: hedged sends', () => {
  /** Four quick PUBACKs on a, so its own timing is known (about 10 ms: late means after 200 ms). */
  const WARM_UP: Row[] = [
    ...CONNECTED,
    ...[100, 200, 300, 400].flatMap((t, i): Row[] => [
      [t, batches(`w${i}`), [send(`w${i}`, i + 1, 'a')]],
      [t + 10, puback(i + 1), [ack(`w${i}`), forget(`w${i}`)]],
    ]),
  ];

  it('a late envelope goes to the best warm standby too; the first PUBACK settles it; two losses in a row make the late region down', () => {
    const { state } = play(begin(two()), [
      ...WARM_UP,
      [1_000, batches('h1'), [send('h1', 5, 'a')]],
      [1_199, tick(), []],
      [1_200, tick(), [send('h1', 6, 'b')]],
      [1_210, puback(6), [ack('h1')]],
      [1_300, batches('h2'), [send('h2', 7, 'a')]],
      [1_500, tick(), [send('h2', 8, 'b')]],
      // The second hedge that wins: a is judged down, traffic moves to b.
      [1_505, puback(8), [ack('h2')]],
      // a answers after all: the records were already deleted; the copy is counted.
      [1_600, puback(5), [forget('h1')]],
    ]);
    expect(state.active).toBe('b');
    expect(state.switches.at(-1)).toMatchObject({ kind: 'failover', from: 'a', to: 'b' });
    expect(state.switches.at(-1)?.reason).toMatch(
      /a: no PUBACK for 205 ms; b acknowledged the hedged copy first/,
    );
    expect(state.hedges).toMatchObject({
      hedgedEnvelopes: 2,
      hedgedRecords: 6,
      hedgeWins: 2,
      duplicateEnvelopes: 1,
      duplicateRecords: 3,
    });
  });

  it('wakes the shell when the next envelope becomes late, only while a hedge could go', () => {
    const { state } = play(begin(two()), [...WARM_UP, [1_000, batches('h1')]]);
    expect(nextDeadlineMs(state, 1_001)).toBe(1_200);
    expect(nextDeadlineMs(state, 1_200)).toBeNull(); // late already: the regular tick hedges it
    const { state: alone } = play(begin(two()), [...WARM_UP, [900, down('b')], [1_000, batches('h1')]]);
    expect(nextDeadlineMs(alone, 1_001)).toBeNull(); // no standby to hedge to
  });

  it('the PUBACK of the first send wins: the hedge is a duplicate and nobody is charged', () => {
    const { state } = play(begin(two()), [
      ...WARM_UP,
      [1_000, batches('h1'), [send('h1', 5, 'a')]],
      [1_200, tick(), [send('h1', 6, 'b')]],
      [1_250, puback(5), [ack('h1')]],
      [1_260, puback(6), [forget('h1')]],
    ]);
    expect(state.health.get('a')).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
    expect(state.hedges).toMatchObject({ hedgedEnvelopes: 1, hedgeWins: 0, duplicateEnvelopes: 1 });
  });

  it.each<[string, Partial<FleetPlan['policy']>, Row[], number]>([
    ['two late envelopes, two hedges', {}, [[1_000, batches('h0')]], 2],
    ['not when hedging is off', { hedging: { ...POLICY.hedging, enabled: false } }, [], 0],
    ['not without a connected standby', {}, [[900, down('b'), []]], 0],
    [
      'not beyond the hedge budget',
      { hedging: { ...POLICY.hedging, maxInFlight: 1 } },
      [[1_000, batches('h0')]],
      1,
    ],
  ])('%s', (_, policy, before, hedged) => {
    const { effects } = play(begin(two(policy)), [
      ...WARM_UP,
      ...before,
      [1_000, batches('h1')],
      [1_300, tick()],
    ]);
    const hedges = effects.at(-1)?.filter((e) => e.kind === 'publish-batch' && e.link === 'b') ?? [];
    expect(hedges).toHaveLength(hedged);
  });

  it('with a region pinned, never hedges', () => {
    const { effects } = play(begin(two(), 'a'), [...WARM_UP, [1_000, batches('h1')], [1_300, tick(), []]]);
    expect(effects.flat().some((e) => e.kind === 'publish-batch' && e.link === 'b')).toBe(false);
  });

  it('before a link has shown its timing, waits the longest delay', () => {
    play(begin(two()), [
      ...CONNECTED,
      [100, batches('h1'), [send('h1', 1, 'a')]],
      [1_099, tick(), []],
      [1_100, tick(), [send('h1', 2, 'b')]],
    ]);
  });
});

describe('fleet core: drain links for a backlog', () => {
  const p = plan(
    [
      { name: 'a', drainLinks: 2 },
      { name: 'b', drainLinks: 1 },
    ],
    QUIET,
  );
  const CONNECTED_DRAINING: Row[] = [
    [10, up('a'), []],
    [11, up('b'), []],
    [20, tick(500), [start('a/drain-1'), start('a/drain-2')]],
    [30, up('a/drain-1'), []],
    [31, up('a/drain-2'), []],
  ];

  it('connect for the active region while a backlog exists, take a share of the reads, and stop once it has been gone a while', () => {
    const idle = plan(
      [
        { name: 'a', drainLinks: 2 },
        { name: 'b', drainLinks: 1 },
      ],
      {
        ...QUIET,
        drainLinkIdleMs: 500,
      },
    );
    play(begin(idle), [
      ...CONNECTED_DRAINING,
      [
        40,
        batches('x1', 'x2', 'x3'),
        [send('x1', 1, 'a'), send('x2', 2, 'a/drain-1'), send('x3', 3, 'a/drain-2')],
      ],
      [45, puback(1), [ack('x1'), forget('x1')]],
      [50, tick(0), []], // the metrics find no backlog any more: it ends in 500 ms unless seen again
      [300, backlogBatches('x4'), [send('x4', 4, 'a')]],
      [350, batches(), []], // a read finds nothing beyond the live window
      [849, tick(null), []],
      [850, tick(null), []], // gone long enough, but envelopes are in flight on both drain links
      [860, puback(2), [ack('x2'), forget('x2'), stop('a/drain-1')]],
      [861, puback(3), [ack('x3'), forget('x3'), stop('a/drain-2')]],
    ]);
  });

  it('stay while reads pause (every window full, a busy machine): only a read without a backlog ends one', () => {
    play(begin(p), [...CONNECTED_DRAINING, [60_000, tick(null), []]]);
  });

  it('are not stopped by metrics taken before the backlog was seen', () => {
    const idle = plan([{ name: 'a', drainLinks: 1 }], { ...QUIET, drainLinkIdleMs: 500 });
    play(begin(idle), [
      [10, up('a'), []],
      [20, backlogBatches('old'), [send('old', 1, 'a'), start('a/drain-1')]],
      [30, { type: 'tick', backlogRecords: 0, metricsAtMs: 5 }, []], // metrics from before the records
      [900, tick(null), []],
      [910, { type: 'tick', backlogRecords: 0, metricsAtMs: 905 }, []], // fresh: the backlog is gone
      [1_404, tick(null), []],
      [1_405, tick(null), [stop('a/drain-1')]], // gone since the metrics were taken
    ]);
  });

  it('connect as soon as a read reaches the backlog, without waiting for the store metrics', () => {
    play(begin(p), [
      [10, up('a'), []],
      [11, up('b'), []],
      [20, batches('live'), [send('live', 1, 'a')]],
      [30, backlogBatches('old'), [send('old', 2, 'a'), start('a/drain-1'), start('a/drain-2')]],
      [40, tick(null), []],
    ]);
  });

  it('size the read for every link of the active region', () => {
    const { state } = play(begin(p), CONNECTED_DRAINING);
    // Three links with two free slots each: an envelope for each.
    expect(readBudget(state, 40)).toEqual({ maxRecords: 100, maxEnvelopes: 6 });
    // Five envelopes out: one slot left.
    const { state: after } = play({ state, effects: [] }, [[40, batches('x1', 'x2', 'x3', 'x4', 'x5')]]);
    expect(readBudget(after, 41)).toEqual({ maxRecords: 100, maxEnvelopes: 1 });
    const { state: full } = play({ state: after, effects: [] }, [[42, batches('x6')]]);
    expect(readBudget(full, 43)).toBeNull();
  });

  it.each<[string, Row[], string[]]>([
    [
      'paused: none',
      [[15, (s) => ({ type: 'configure', plan: { ...s.plan, paused: true }, relink: false })]],
      [],
    ],
    ['after a failover: only the new region’s', [[15, down('a')]], ['b/drain-1']],
  ])('which connect, %s', (_, rows, started) => {
    const { effects } = play(begin(p), [[10, up('a')], [11, up('b')], ...rows, [20, tick(500)]]);
    expect(effects.flat().filter((e) => e.kind === 'start-link')).toEqual(started.map(start));
  });
});

describe('fleet core: probes', () => {
  it('probe standbys, and the active region while idle; failed probes take a standby down', () => {
    const { state } = play(begin(plan([{ name: 'a' }, { name: 'b' }])), [
      ...CONNECTED,
      [5_000, tick(), [probe('a', 1), probe('b', 2)]],
      [
        5_010,
        { type: 'probe-result', probeId: 1, outcome: { kind: 'puback', reasonCode: 0, latencyMs: 4 } },
        [],
      ],
      [
        7_000,
        { type: 'probe-result', probeId: 2, outcome: { kind: 'failed', timedOut: true, reason: 'timeout' } },
        [],
      ],
      [10_000, tick(), [probe('a', 3), probe('b', 4)]],
      [
        12_000,
        { type: 'probe-result', probeId: 4, outcome: { kind: 'failed', timedOut: true, reason: 'timeout' } },
        [],
      ],
    ]);
    expect(state.health.get('b')).toMatchObject({ status: 'down' });
    expect(state.health.get('b')?.reason).toMatch(/b: probe failed: no PUBACK for a probe/);
    expect(state.counters.get('b')).toMatchObject({ probes: 2, failedProbes: 2 });
  });

  it('do not probe the active region while it is sending', () => {
    play(begin(plan([{ name: 'a' }])), [
      [10, up('a'), []],
      [4_000, batches('e1'), [send('e1', 1, 'a')]],
      [5_000, tick(), []],
      [9_000, tick(), [probe('a', 1)]],
    ]);
  });
});

describe('fleet core: a deployment', () => {
  it('that changes connection settings rebuilds every link and gives back what was in flight', () => {
    const { state } = play(begin(two()), [
      ...CONNECTED,
      [20, batches('e1'), [send('e1', 1, 'a')]],
      [
        30,
        (s) => ({ type: 'configure', plan: s.plan, relink: true }),
        [release('e1'), stop('a'), stop('b'), start('a'), start('b')],
      ],
    ]);
    expect(state.active).toBeNull();
    expect(state.health.get('a')?.status).toBe('connecting');
  });

  it("that changes the configuration's pin wins over an earlier command, and is saved", () => {
    const { state } = play(begin(two()), [
      ...CONNECTED,
      [
        20,
        (s) => ({ type: 'configure', plan: { ...s.plan, pinnedRegion: 'b' }, relink: false }),
        [{ kind: 'save-overrides', pinnedRegion: 'b', paused: false }],
      ],
    ]);
    expect(state.active).toBe('b');
    expect(state.switches.at(-1)).toMatchObject({ kind: 'pin', to: 'b' });
  });
});
