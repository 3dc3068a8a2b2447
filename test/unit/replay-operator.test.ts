import type { Step } from '../../components/replay/src/core/effects';
import { startFleet } from '../../components/replay/src/core/fleet';
import type { FleetState } from '../../components/replay/src/core/fleet-state';
import { applyCommand } from '../../components/replay/src/core/operator';
import { readBudget } from '../../components/replay/src/core/sending';
import { commandSchema, type CommandInput } from '../../shared/src/messages/cloud';
import {
  ack,
  batches,
  forget,
  play,
  plan,
  POLICY,
  puback,
  send,
  start,
  tick,
  up,
  visible,
  type Row,
  type Seen,
} from '../support/fleet';

const QUIET = { health: { ...POLICY.health, probeIntervalMs: 1e9 } };
const three = plan([{ name: 'a' }, { name: 'b' }, { name: 'c', standby: 'cold' }], QUIET);

function connected(): FleetState {
  return play(startFleet(three, { pinnedRegion: null, paused: false }, 0), [
    [10, up('a'), []],
    [11, up('b'), []],
  ]).state;
}

/** A command without the fields every test gives the same values. */
type Body = CommandInput extends infer C
  ? C extends unknown
    ? Omit<C, 'id' | 'issuedAtMs' | 'expiresAtMs'>
    : never
  : never;

const command = (c: Body) => commandSchema.parse({ id: 'op-1', issuedAtMs: 0, expiresAtMs: 1e13, ...c });

function apply(state: FleetState, c: Body, nowMs: number) {
  const applied = applyCommand(state, command(c), {
    thing: 'gw-1',
    via: 'a',
    metrics: null,
    nowMs,
    commands: { accepted: 0, refused: 0 },
  });
  return { ...applied, seen: visible(applied.effects) };
}

const saved = (pinnedRegion: string | null, paused: boolean): Seen => ({
  kind: 'save-overrides',
  pinnedRegion,
  paused,
});

describe('operator commands on the fleet', () => {
  it.each<[string, Body, unknown, Seen[], string | null]>([
    [
      'pin moves traffic and is saved',
      { type: 'pin', args: { region: 'b' } },
      { pinnedRegion: 'b', activeRegion: 'b' },
      [saved('b', false)],
      'b',
    ],
    [
      'pin to a cold standby connects it',
      { type: 'pin', args: { region: 'c' } },
      { pinnedRegion: 'c', activeRegion: 'c' },
      [saved('c', false), start('c')],
      'c',
    ],
    ['unpin', { type: 'unpin' }, { pinnedRegion: null, activeRegion: 'a' }, [saved(null, false)], 'a'],
    ['pause', { type: 'pause' }, { paused: true }, [saved(null, true)], 'a'],
    ['resume', { type: 'resume' }, { paused: false }, [saved(null, false)], 'a'],
    [
      'failover moves traffic now, holding it there',
      { type: 'failover', args: { region: 'b' } },
      { activeRegion: 'b', noFailbackBeforeMs: 30_100 },
      [],
      'b',
    ],
    [
      'recalibrate is forwarded to Inference',
      { type: 'recalibrate', args: { asset: 'pump-1' } },
      { forwardedTo: 'edgedr/inference/commands' },
      [
        {
          kind: 'forward-recalibrate',
          topic: 'edgedr/inference/commands',
          message: { id: 'op-1', type: 'recalibrate', asset: 'pump-1', requestedVia: 'a', atMs: 100 },
        },
      ],
      'a',
    ],
  ])('%s', (_, c, result, effects, active) => {
    const applied = apply(connected(), c, 100);
    expect(applied.reply).toEqual({
      id: 'op-1',
      type: c.type,
      status: 'done',
      result,
      region: 'a',
      atMs: 100,
    });
    expect(applied.seen).toEqual(effects);
    expect(applied.state.active).toBe(active);
  });

  it.each<[string, (s: FleetState) => FleetState, Body, RegExp]>([
    [
      'a failover to an unknown region',
      (s) => s,
      { type: 'failover', args: { region: 'mars' } },
      /no region named mars; configured: a, b, c/,
    ],
    [
      'a pin to an unknown region',
      (s) => s,
      { type: 'pin', args: { region: 'mars' } },
      /no region named mars/,
    ],
    [
      'a failover to a region that is not healthy',
      (s) => s,
      { type: 'failover', args: { region: 'c' } },
      /region c is connecting, not healthy/,
    ],
    [
      'a failover away from a pinned region',
      (s) => apply(s, { type: 'pin', args: { region: 'a' } }, 50).state,
      { type: 'failover', args: { region: 'b' } },
      /region a is pinned; unpin first/,
    ],
  ])('refuses %s, changing nothing', (_, prepare, c, detail) => {
    const before = prepare(connected());
    const applied = apply(before, c, 100);
    expect(applied.reply).toMatchObject({ status: 'failed', reason: 'COMMAND_REJECTED' });
    expect(applied.reply.status === 'failed' ? applied.reply.detail : '').toMatch(detail);
    expect(applied.state).toBe(before);
    expect(applied.effects).toEqual([]);
  });

  it('status answers with the fleet state', () => {
    const { reply } = apply(connected(), { type: 'status' }, 100);
    expect(reply).toMatchObject({
      status: 'done',
      result: {
        thing: 'gw-1',
        activeRegion: 'a',
        regions: { a: 'healthy', b: 'healthy', c: 'connecting' },
        regionHealth: { a: { status: 'healthy', connected: true } },
        inFlightBatches: 0,
        commands: { accepted: 0, refused: 0 },
      },
    });
  });
});

describe('after an operator failover', () => {
  const moved = (): Step => apply(connected(), { type: 'failover', args: { region: 'b' } }, 100);

  it('there is no fail-back for one hold time, however healthy the preferred region', () => {
    const { state } = play(moved(), [
      [30_099, tick(), []],
      [30_100, tick(), []],
    ]);
    expect(state.active).toBe('a');
    expect(state.switches.map((s) => s.kind)).toEqual(['recovery', 'manual', 'failback']);
    const { state: held } = play(moved(), [[30_099, tick(), []]]);
    expect(held.active).toBe('b');
  });

  it('late envelopes are not hedged back to the region traffic was moved away from', () => {
    const rows: Row[] = [
      ...[200, 300, 400, 500].flatMap((t, i): Row[] => [
        [t, batches(`w${i}`), [send(`w${i}`, i + 1, 'b')]],
        [t + 10, puback(i + 1), [ack(`w${i}`), forget(`w${i}`)]],
      ]),
      [1_000, batches('h1'), [send('h1', 5, 'b')]],
    ];
    play(moved(), [...rows, [2_500, tick(), []]]);
    // The same without the operator's hold: the late envelope goes to a.
    const free = moved();
    play({ ...free, state: { ...free.state, noFailbackBeforeMs: 0 } }, [
      ...rows,
      [2_500, tick(), [send('h1', 6, 'a')]],
    ]);
  });
});

describe('a pin', () => {
  it('to a region that is down keeps the data in the store', () => {
    const p = plan([{ name: 'a' }, { name: 'b' }], QUIET);
    const { state } = play(startFleet(p, { pinnedRegion: 'b', paused: false }, 0), [[10, up('a'), []]]);
    expect(state.active).toBe('b');
    expect(readBudget(state, 20)).toBeNull();
  });
});
