import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { StatusHttpServer } from '../../components/status/src/adapters/http-server';
import { buildPage } from '../../components/status/src/adapters/page';
import { SESSION_COOKIE } from '../../components/status/src/auth';
import { makePki, type Pki } from '../../dev/pki';
import { REPO_ROOT } from '../support/child';
import { useTempDir } from '../support/temp-dir';

const TOKEN = 'a-token-for-the-http-tests-0123456789';
const page = buildPage(join(REPO_ROOT, 'components', 'status', 'assets'));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http, so that Host and methods can be anything. */
function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; readMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        res.on('end', done);
        if (options.readMs !== undefined)
          setTimeout(() => {
            done();
            req.destroy();
          }, options.readMs);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the status page over HTTP', () => {
  let server: StatusHttpServer | undefined;
  let snapshots = 0;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (token: string | null, maxClients = 2): Promise<number> => {
    server = await StatusHttpServer.listen({
      host: '127.0.0.1',
      port: 0,
      page,
      token: () => token,
      snapshot: (sinceMs) => ({
        atMs: Date.now(),
        n: ++snapshots,
        sinceMs: sinceMs ?? null,
        series: { bucketMs: 1_000 },
      }),
      pushIntervalMs: () => 100,
      maxClients,
      onError: (err) => {
        throw err;
      },
    });
    return server.address.port;
  };

  it('serves one self-contained page whose policy allows exactly its inline style and script', async () => {
    const port = await start(null);
    const r = await send(port, '/', { headers: { Host: `127.0.0.1:${port}` } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(r.headers['content-security-policy']);
    const inline = (tag: string): string =>
      new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(r.body)?.[1] ?? '';
    const hash = (text: string): string => createHash('sha256').update(text).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash(inline('script'))}'`);
    expect(csp).toContain(`style-src 'sha256-${hash(inline('style'))}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:/);
    // Nothing from another origin: the only URL in the page is SVG's namespace name.
    expect([...r.body.matchAll(/https?:\/\/[^\s'"`]+/g)].map((m) => m[0])).toEqual([
      'http://www.w3.org/2000/svg',
    ]);
    expect(r.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(r.headers).toMatchObject({
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('is read-only: %s gets 405', async (method) => {
    const port = await start(TOKEN);
    const r = await send(port, '/api/status', { method, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, HEAD');
  });

  it('without a token configured, answers only under a loopback Host (DNS rebinding)', async () => {
    const port = await start(null);
    expect((await send(port, '/api/status', { headers: { Host: `localhost:${port}` } })).status).toBe(200);
    const rebound = await send(port, '/api/status', { headers: { Host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('"atMs"');
  });

  it('with a token, refuses every path without it with a bare 401, and answers with it', async () => {
    const port = await start(TOKEN);
    for (const path of ['/', '/api/status', '/api/events', '/nothing-here']) {
      const r = await send(port, path, { headers: { Authorization: 'Bearer wrong-token-wrong-token' } });
      expect({ path, status: r.status, body: r.body }).toEqual({ path, status: 401, body: 'unauthorized\n' });
      expect(r.headers['cache-control']).toBe('no-store');
    }
    expect((await send(port, '/api/status')).status).toBe(401);
    const ok = await send(port, '/api/status?sinceMs=5', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ sinceMs: 5 });
  });

  it('turns ?token= into an HttpOnly session cookie and drops it from the address', async () => {
    const port = await start(TOKEN);
    const r = await send(port, `/?token=${TOKEN}&view=1`);
    expect(r.status).toBe(303);
    expect(r.headers['location']).toBe('/?view=1');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; HttpOnly; SameSite=Strict; Path=/`));
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0] ?? '';
    expect((await send(port, '/', { headers: { Cookie: session } })).status).toBe(200);
    expect((await send(port, `/?token=${TOKEN.slice(1)}`)).status).toBe(401);
  });

  it('streams a snapshot, then updates of the newer points, and caps the open streams', async () => {
    const port = await start(TOKEN, 1);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const [first, second] = await Promise.all([
      send(port, '/api/events', { headers: auth, readMs: 600 }),
      new Promise<Answer>((resolve) =>
        setTimeout(() => resolve(send(port, '/api/events', { headers: auth })), 200),
      ),
    ]);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = [...first.body.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({
      name: m[1],
      data: JSON.parse(m[2] ?? '{}') as { sinceMs: number | null },
    }));
    expect(events[0]).toMatchObject({ name: 'snapshot', data: { sinceMs: null } });
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events.slice(1)) {
      expect(e.name).toBe('update');
      expect(typeof e.data.sinceMs).toBe('number');
    }
    expect(second.status).toBe(503);
  });
});

describe('the status page over HTTPS', () => {
  const tempDir = useTempDir('ggdr-status-https-');
  let server: StatusHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** One request over TLS that trusts `ca` only and checks the certificate's name as a browser does. */
  function sendTls(
    port: number,
    path: string,
    ca: string,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path, ca: readFileSync(ca), headers, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  const startTls = async (pki: Pki): Promise<number> => {
    server = await StatusHttpServer.listen({
      host: '127.0.0.1',
      port: 0,
      page,
      token: () => TOKEN,
      snapshot: () => ({ atMs: Date.now(), series: { bucketMs: 1_000 } }),
      pushIntervalMs: () => 100,
      maxClients: 2,
      onError: (err) => {
        throw err;
      },
      tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    });
    return server.address.port;
  };

  it('serves the page to a client that trusts its certificate, with a Secure session cookie', async () => {
    const pki = makePki(tempDir(), 'page', []);
    const port = await startTls(pki);
    expect(server?.scheme).toBe('https');
    const page = await sendTls(port, '/', pki.caCert, { Authorization: `Bearer ${TOKEN}` });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
    expect((await sendTls(port, '/api/status', pki.caCert)).status).toBe(401);
    const login = await sendTls(port, `/?token=${TOKEN}`, pki.caCert);
    expect(login.status).toBe(303);
    expect(String(login.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; .*; Secure$/);
  });

  it('gives plain HTTP and untrusting clients nothing', async () => {
    const pki = makePki(tempDir(), 'page', []);
    const stranger = makePki(tempDir(), 'stranger', []);
    const port = await startTls(pki);
    await expect(send(port, '/', { headers: { Authorization: `Bearer ${TOKEN}` } })).rejects.toThrow();
    await expect(sendTls(port, '/', stranger.caCert)).rejects.toThrow(
      /self-signed|unable to verify|certificate/i,
    );
  });

  it('takes a renewed certificate for new connections without closing the listener', async () => {
    const bearer = { Authorization: `Bearer ${TOKEN}` };
    const before = makePki(tempDir(), 'before', []);
    const after = makePki(tempDir(), 'after', []);
    const port = await startTls(before);
    expect((await sendTls(port, '/favicon.ico', before.caCert, bearer)).status).toBe(204);
    expect(
      server?.replaceCertificate({
        cert: readFileSync(after.serverCert),
        key: readFileSync(after.serverKey),
      }),
    ).toBe(true);
    expect((await sendTls(port, '/favicon.ico', after.caCert, bearer)).status).toBe(204);
    await expect(sendTls(port, '/favicon.ico', before.caCert, bearer)).rejects.toThrow(
      /unable to verify|self-signed|certificate/i,
    );
  });
});
