import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkAccess,
  cookieValue,
  hostOf,
  isLoopback,
  sameSecret,
  SESSION_COOKIE,
  sessionValue,
} from '../../components/status/src/auth';
import { accessProblems, readTokenFile } from '../../components/status/src/adapters/token-file';
import { useTempDir } from '../support/temp-dir';

const TOKEN = 'correct-horse-battery-staple-42';
const session = `${SESSION_COOKIE}=${sessionValue(TOKEN)}`;

describe('the status page: who may read it', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.3.4.5', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['status.localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['10.200.0.1', false],
    ['gateway.local', false],
    ['127.0.0.1.evil.example', false],
  ])('%s is loopback: %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });

  it.each([
    ['127.0.0.1:8470', '127.0.0.1'],
    ['[::1]:8470', '::1'],
    ['localhost', 'localhost'],
    ['gateway.local:80', 'gateway.local'],
    ['::1', '::1'],
  ])('reads the host of the Host header %s', (header, host) => {
    expect(hostOf(header)).toBe(host);
  });

  it.each([
    // An open page (no token: loopback only) answers under loopback names only (DNS rebinding).
    { name: 'open, loopback Host', token: null, req: { host: '127.0.0.1:8470' }, kind: 'allow' },
    { name: 'open, localhost', token: null, req: { host: 'localhost:8470' }, kind: 'allow' },
    { name: 'open, rebinding name', token: null, req: { host: 'attacker.example:8470' }, kind: 'wrong-host' },
    { name: 'open, no Host', token: null, req: {}, kind: 'wrong-host' },
    // With a token every request needs it, whatever the Host.
    { name: 'no credentials', token: TOKEN, req: { host: '127.0.0.1' }, kind: 'deny' },
    { name: 'bearer', token: TOKEN, req: { authorization: `Bearer ${TOKEN}` }, kind: 'allow' },
    { name: 'bearer, any case', token: TOKEN, req: { authorization: `bearer ${TOKEN}` }, kind: 'allow' },
    { name: 'wrong bearer', token: TOKEN, req: { authorization: 'Bearer nope' }, kind: 'deny' },
    {
      name: 'bearer with a prefix of it',
      token: TOKEN,
      req: { authorization: `Bearer ${TOKEN.slice(0, 10)}` },
      kind: 'deny',
    },
    { name: 'basic auth', token: TOKEN, req: { authorization: `Basic ${TOKEN}` }, kind: 'deny' },
    { name: 'session cookie', token: TOKEN, req: { cookie: `a=b; ${session}` }, kind: 'allow' },
    {
      name: 'the token as cookie',
      token: TOKEN,
      req: { cookie: `${SESSION_COOKIE}=${TOKEN}` },
      kind: 'deny',
    },
    { name: 'a forged cookie', token: TOKEN, req: { cookie: `${SESSION_COOKIE}=x` }, kind: 'deny' },
    {
      name: 'wrong bearer, good cookie',
      token: TOKEN,
      req: { authorization: 'Bearer x', cookie: session },
      kind: 'deny',
    },
    {
      name: 'wrong query token, good cookie',
      token: TOKEN,
      req: { queryToken: 'x', cookie: session },
      kind: 'deny',
    },
  ])('$name: $kind', ({ token, req, kind }) => {
    expect(checkAccess(req, token).kind).toBe(kind);
  });

  it('turns the right ?token= into a session cookie derived from it, not the token itself', () => {
    const verdict = checkAccess({ queryToken: TOKEN }, TOKEN);
    expect(verdict).toEqual({ kind: 'set-session', cookie: sessionValue(TOKEN) });
    expect(sessionValue(TOKEN)).not.toContain(TOKEN);
    expect(sessionValue('another-token-of-enough-length')).not.toBe(sessionValue(TOKEN));
  });

  it('compares secrets whatever their lengths', () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(sameSecret('', TOKEN)).toBe(false);
  });

  it('reads a cookie among others', () => {
    expect(cookieValue('a=1; edgedr_status=v=w; b=2', SESSION_COOKIE)).toBe('v=w');
    expect(cookieValue('a=1', SESSION_COOKIE)).toBeUndefined();
    expect(cookieValue(undefined, SESSION_COOKIE)).toBeUndefined();
  });
});

describe('the token file and the listener', () => {
  const tempDir = useTempDir('ggdr-status-token-');
  const tokenFile = (contents: string, mode: number): string => {
    const path = join(tempDir(), 'token');
    writeFileSync(path, contents);
    chmodSync(path, mode);
    return path;
  };

  it('reads a token from a 0600 file, trimmed', () => {
    const file = readTokenFile(tokenFile(`${TOKEN}\n`, 0o600));
    expect(file).toMatchObject({ ok: true, token: TOKEN });
    expect(readTokenFile(tokenFile(TOKEN, 0o400)).ok).toBe(true);
  });

  it.each([
    ['readable by the group', `${TOKEN}\n`, 0o640, /readable by others \(mode 640\)/],
    ['readable by everyone', TOKEN, 0o644, /chmod 600/],
    ['too short', 'short\n', 0o600, /at least 16 characters/],
    ['two words', 'one two three four five', 0o600, /without spaces/],
  ])('refuses a token file %s, naming the file and not the token', (_name, contents, mode, problem) => {
    const path = tokenFile(contents, mode);
    const file = readTokenFile(path);
    expect(file.ok).toBe(false);
    const text = file.ok ? '' : file.problem;
    expect(text).toMatch(problem);
    expect(text).toContain(path);
    expect(text).not.toContain(contents.trim());
  });

  it('refuses a missing file and a directory', () => {
    expect(readTokenFile(join(tempDir(), 'absent'))).toMatchObject({ ok: false, problem: /ENOENT/ });
    const dir = join(tempDir(), 'dir');
    mkdirSync(dir);
    expect(readTokenFile(dir)).toMatchObject({ ok: false, problem: /is not a file/ });
  });

  it.each([
    ['loopback without a token', '127.0.0.1', false, []],
    ['::1 without a token', '::1', false, []],
    ['a LAN address without a token', '192.168.1.20', false, [/not loopback: set tokenPath/]],
    ['every address without a token', '0.0.0.0', false, [/not loopback/]],
    ['a LAN address with a token', '192.168.1.20', true, []],
    ['loopback with a token', '127.0.0.1', true, []],
  ])('%s', (_name, listenAddress, withToken, problems) => {
    const tokenPath = withToken ? tokenFile(TOKEN, 0o600) : null;
    const found = accessProblems({ listenAddress, tokenPath });
    expect(found).toHaveLength(problems.length);
    problems.forEach((p, i) => expect(found[i]).toMatch(p));
  });

  it('refuses a LAN address whose token file is too open', () => {
    const tokenPath = tokenFile(TOKEN, 0o644);
    expect(accessProblems({ listenAddress: '0.0.0.0', tokenPath })).toEqual([
      expect.stringMatching(/readable by others/),
    ]);
  });
});
