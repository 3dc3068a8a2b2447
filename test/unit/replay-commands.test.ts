import { checkCommand, SeenIds, type CommandPolicy } from '../../components/replay/src/core/commands';

const NOW = 1_800_000_000_000;
const policy: CommandPolicy = {
  allowed: ['status', 'failover', 'pin', 'unpin', 'pause', 'resume', 'recalibrate'],
  maxAgeMs: 300_000,
};
const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const fresh = (extra: Record<string, unknown>) => ({
  id: 'c-1',
  issuedAtMs: NOW - 1_000,
  expiresAtMs: NOW + 60_000,
  ...extra,
});
const check = (v: unknown, p: CommandPolicy = policy, seen = new SeenIds(10)) =>
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
      'one from the future',
      fresh({ type: 'pause', issuedAtMs: NOW + 300_001 }),
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

  it('refuses a replayed id, and forgets the oldest ids beyond its capacity', () => {
    const seen = new SeenIds(2);
    seen.add('c-1');
    expect(check(fresh({ type: 'status' }), policy, seen)).toMatchObject({ ok: false, reason: 'duplicate' });
    seen.add('c-2');
    seen.add('c-3');
    expect(seen.has('c-1')).toBe(false);
    expect(check(fresh({ type: 'status' }), policy, seen)).toMatchObject({ ok: true });
  });
});
