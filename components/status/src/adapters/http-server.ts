import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkAccess, SESSION_COOKIE } from '../auth';
import type { StatusPage } from './page';
import { TLS_MIN_VERSION } from './tls-files';

/**
 * The page's HTTP side, on node:http: GET and HEAD only (nothing can be changed through it), the page,
 * a JSON snapshot and a stream of updates (Server-Sent Events). Every answer carries no-store and the
 * page's security headers; a request without the right token gets 401 and nothing else.
 */
export interface StatusHttpOptions {
  readonly host: string;
  readonly port: number;
  readonly page: StatusPage;
  /** The token in force, or null when the page is open (loopback only). Read per request. */
  readonly token: () => string | null;
  /** The snapshot as JSON; `sinceMs` limits the chart points to the newer ones. */
  readonly snapshot: (sinceMs?: number) => unknown;
  readonly pushIntervalMs: () => number;
  readonly maxClients: number;
  readonly onError: (err: Error) => void;
  /** HTTPS with this certificate chain and key (PEM); plain HTTP when absent. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

const MAX_URL_CHARS = 2_048;

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
};

interface Stream {
  readonly res: ServerResponse;
  sinceMs: number;
  timer: NodeJS.Timeout;
}

export class StatusHttpServer {
  private readonly server: Server | TlsServer;
  private readonly streams = new Set<Stream>();

  private constructor(private readonly options: StatusHttpOptions) {
    const limits = { maxHeaderSize: 8_192, requestTimeout: 15_000, headersTimeout: 10_000 };
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    this.server =
      options.tls === undefined
        ? createServer(limits, handler)
        : createTlsServer(
            // TLS 1.2 at least; Node's default ciphers. A failed handshake (plain HTTP on this port,
            // a client that does not trust the certificate) only closes that connection.
            // A handshake must finish within 10 s: connections still shaking hands count towards
            // maxConnections, so slow ones must not hold the page.
            {
              ...limits,
              cert: options.tls.cert,
              key: options.tls.key,
              minVersion: TLS_MIN_VERSION,
              handshakeTimeout: 10_000,
            },
            handler,
          );
    this.server.keepAliveTimeout = 5_000;
    this.server.maxConnections = options.maxClients * 4;
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  static async listen(options: StatusHttpOptions): Promise<StatusHttpServer> {
    const s = new StatusHttpServer(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen({ host: options.host, port: options.port }, () => {
        s.server.off('error', reject);
        s.server.on('error', options.onError);
        resolve();
      });
    });
    return s;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** http or https. */
  get scheme(): 'http' | 'https' {
    return this.options.tls === undefined ? 'http' : 'https';
  }

  /**
   * A renewed certificate for new connections (open ones keep theirs); false on plain HTTP. Throws,
   * keeping the certificate in force, when the new one does not load.
   */
  replaceCertificate(tls: { readonly cert: Buffer; readonly key: Buffer }): boolean {
    if (!('setSecureContext' in this.server)) return false;
    this.server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: TLS_MIN_VERSION });
    return true;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  async close(): Promise<void> {
    for (const s of this.streams) {
      clearInterval(s.timer);
      s.res.end();
    }
    this.streams.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string | Buffer,
    head: boolean,
  ): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'Content-Length': String(bytes.length) });
    res.end(head ? undefined : bytes);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const head = req.method === 'HEAD';
    const text = { 'Content-Type': 'text/plain; charset=utf-8' };
    if (req.method !== 'GET' && !head) {
      this.send(res, 405, { ...text, Allow: 'GET, HEAD' }, 'read-only: GET and HEAD only\n', false);
      return;
    }
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL_CHARS) {
      this.send(res, 414, text, 'URI too long\n', head);
      return;
    }
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://status.invalid');
    } catch {
      this.send(res, 400, text, 'bad request\n', head);
      return;
    }
    const verdict = checkAccess(
      {
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
        queryToken: url.searchParams.get('token') ?? undefined,
        host: req.headers.host,
      },
      this.options.token(),
    );
    switch (verdict.kind) {
      case 'deny':
        this.send(res, 401, { ...text, 'WWW-Authenticate': 'Bearer' }, 'unauthorized\n', head);
        return;
      case 'wrong-host':
        this.send(
          res,
          421,
          text,
          `open this page as ${this.scheme}://127.0.0.1 or ${this.scheme}://localhost\n`,
          head,
        );
        return;
      case 'set-session': {
        // The token leaves the address bar (and the browser's history) at once.
        url.searchParams.delete('token');
        const rest = url.searchParams.toString();
        this.send(
          res,
          303,
          {
            ...text,
            Location: `${url.pathname}${rest === '' ? '' : `?${rest}`}`,
            // Secure under HTTPS: the browser then never sends the session over plain HTTP.
            'Set-Cookie': `${SESSION_COOKIE}=${verdict.cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200${this.scheme === 'https' ? '; Secure' : ''}`,
          },
          'see other\n',
          head,
        );
        return;
      }
      case 'allow':
        break;
    }
    switch (url.pathname) {
      case '/':
      case '/index.html':
        this.send(
          res,
          200,
          {
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': this.options.page.contentSecurityPolicy,
          },
          this.options.page.html,
          head,
        );
        return;
      case '/api/status': {
        const since = Number(url.searchParams.get('sinceMs'));
        const body = JSON.stringify(
          this.options.snapshot(Number.isFinite(since) && since > 0 ? since : undefined),
        );
        this.send(res, 200, { 'Content-Type': 'application/json; charset=utf-8' }, body, head);
        return;
      }
      case '/api/events':
        if (head) {
          this.send(res, 200, { 'Content-Type': 'text/event-stream' }, '', true);
          return;
        }
        this.stream(res);
        return;
      case '/favicon.ico':
        this.send(res, 204, {}, '', head);
        return;
      default:
        this.send(res, 404, text, 'not found\n', head);
    }
  }

  /** Server-Sent Events: the whole snapshot first, then every pushInterval the parts that change. */
  private stream(res: ServerResponse): void {
    if (this.streams.size >= this.options.maxClients) {
      this.send(
        res,
        503,
        { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' },
        'too many open pages\n',
        false,
      );
      return;
    }
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8' });
    const event = (name: string, data: unknown): void => {
      res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const first = this.options.snapshot() as { series?: { bucketMs?: number }; atMs?: number };
    res.write('retry: 3000\n\n');
    event('snapshot', first);
    const stream: Stream = {
      res,
      sinceMs: first.atMs ?? Date.now(),
      timer: setInterval(() => {
        // The bucket still filling and the one before it: their values change until they are past.
        const bucketMs = first.series?.bucketMs ?? 10_000;
        const update = this.options.snapshot(stream.sinceMs - bucketMs) as { atMs?: number };
        stream.sinceMs = update.atMs ?? Date.now();
        event('update', update);
      }, this.options.pushIntervalMs()),
    };
    stream.timer.unref();
    this.streams.add(stream);
    res.on('close', () => {
      clearInterval(stream.timer);
      this.streams.delete(stream);
    });
  }
}
