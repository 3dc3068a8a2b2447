import { checkCommand, type CommandPolicy } from '../../components/replay/src/core/commands';
import { NOTHING_SEEN, remember, type SeenCommands } from '../../components/replay/src/core/seen-commands';

const NOW = 1_800_000_000_000;
const policy: CommandPolicy = {
  allowed: ['status', 'failover', 'pin', 'unpin', 'pause', 'resume', 'recalibrate'],
  maxAgeMs: 300_000,
  maxFutureSkewMs: 5_000,
};
const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const fresh = (extra: Record<string, unknown>) => ({
  id: 'c-1',
  issuedAtMs: NOW - 1_000,
  expiresAtMs: NOW + 60_000,
  ...extra,
});
const check = (v: unknown, p: CommandPolicy = policy, seen: SeenCommands = NOTHING_SEEN) =>
  checkCommand(bytes(v), NOW, p, seen);

describe('cloud command checks', () => {
  it.each([
    [{ type: 'status' }],
    [{ type: 'failover', args: { region: 'eu-west-1' } }],
    [{ type: 'pin', args: { region: 'eu-west-1' } }],
    [{ type: 'unpin' }],
    [{ type: 'pause' }],
    [{ type: 'resume' }],
    [{ type: 'recalibrate' }],
    [{ type: 'recalibrate', args: { asset: 'pump-1' } }],
  ])('accepts a fresh %j', (extra) => {
    expect(check(fresh(extra))).toMatchObject({ ok: true, command: { id: 'c-1', type: extra.type } });
  });

  it.each<[string, unknown, string, string | null, RegExp]>([
    ['not JSON', '{nope', 'malformed', null, /not JSON/],
    ['an array', '[1,2]', 'malformed', null, /./],
    ['no expiry', { id: 'c-2', type: 'pause', issuedAtMs: NOW }, 'malformed', 'c-2', /expiresAtMs/],
    ['a bad id', fresh({ id: 'a b', type: 'pause' }), 'malformed', null, /id/],
    ['a missing argument', fresh({ type: 'pin' }), 'malformed', 'c-1', /args/],
    ['an extra field', fresh({ type: 'pause', shell: 'rm -rf /' }), 'malformed', 'c-1', /shell/],
    ['an unknown type', fresh({ type: 'exec', args: { cmd: 'reboot' } }), 'unknown', 'c-1', /exec/],
    ['an expired one', fresh({ type: 'pause', expiresAtMs: NOW }), 'stale', 'c-1', /expired 0 ms ago/],
    [
      'an old one',
      fresh({ type: 'pause', issuedAtMs: NOW - 300_001 }),
      'stale',
      'c-1',
      /issued 300001 ms ago/,
    ],
    [
      'one from further in the future than the allowed skew',
      fresh({ type: 'pause', issuedAtMs: NOW + 5_001 }),
      'stale',
      'c-1',
      /issued 5001 ms in the future, more than 5000 ms/,
    ],
    [
      'one issued minutes ahead with an expiry far away (a long replay window)',
      fresh({
        type: 'pin',
        args: { region: 'a' },
        issuedAtMs: NOW + 294_000,
        expiresAtMs: 253_402_300_799_000,
      }),
      'stale',
      'c-1',
      /in the future/,
    ],
  ])('refuses %s', (_, input, reason, id, detail) => {
    const v = check(input);
    expect(v).toMatchObject({ ok: false, reason, id });
    expect(v.ok ? '' : v.detail).toMatch(detail);
  });

  it('refuses types the gateway does not allow, as unauthorized', () => {
    expect(check(fresh({ type: 'pause' }), { ...policy, allowed: ['status'] })).toMatchObject({
      ok: false,
      reason: 'unauthorized',
      id: 'c-1',
    });
  });

  it('accepts a command issued within the allowed skew ahead of the gateway clock', () => {
    expect(check(fresh({ type: 'status', issuedAtMs: NOW + 5_000 }))).toMatchObject({ ok: true });
  });

  it('refuses a replayed id', () => {
    const seen = remember(NOTHING_SEEN, { id: 'c-1', issuedAtMs: NOW - 1_000 }, NOW, policy.maxAgeMs);
    expect(check(fresh({ type: 'status' }), policy, seen)).toMatchObject({
      ok: false,
      reason: 'duplicate',
      id: 'c-1',
    });
  });
});

describe('accepted command ids', () => {
  const at = (id: string, issuedAtMs: number) => ({ id, issuedAtMs });

  it.each<[string, [string, number][], number, number, string[], number]>([
    [
      'keeps what is still fresh',
      [
        ['a', NOW - 10],
        ['b', NOW - 5],
      ],
      NOW,
      10,
      ['a', 'b'],
      0,
    ],
    [
      'forgets ids too old to pass the age check, raising the floor to them',
      [
        ['a', NOW - 400_000],
        ['b', NOW - 5],
      ],
      NOW,
      10,
      ['b'],
      NOW - 400_000,
    ],
    [
      'beyond capacity forgets the earliest issued, raising the floor',
      [
        ['a', NOW - 30],
        ['c', NOW - 10],
        ['b', NOW - 20],
      ],
      NOW,
      2,
      ['b', 'c'],
      NOW - 30,
    ],
  ])('%s', (_, entries, nowMs, capacity, kept, floorMs) => {
    const seen = entries.reduce<SeenCommands>(
      (s, [id, t]) => remember(s, at(id, t), nowMs, policy.maxAgeMs, capacity),
      NOTHING_SEEN,
    );
    expect(seen.entries.map((e) => e.id)).toEqual(kept);
    expect(seen.floorMs).toBe(floorMs);
  });

  it('refuses a command issued at or before the floor: a forgotten id never runs again', () => {
    const seen: SeenCommands = { entries: [], floorMs: NOW - 1_000 };
    expect(check(fresh({ type: 'pause', issuedAtMs: NOW - 1_000 }), policy, seen)).toMatchObject({
      ok: false,
      reason: 'stale',
      detail: 'issued before the oldest command this gateway still remembers',
    });
    expect(check(fresh({ type: 'pause', issuedAtMs: NOW - 999 }), policy, seen)).toMatchObject({ ok: true });
  });
});
