import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Who may read the status page. On loopback without a token the page is open to local processes only
 * (and only under a loopback Host name, so a web page in a browser on the gateway cannot read it through
 * DNS rebinding). With a token, every request must carry it: `Authorization: Bearer <token>` (scripts),
 * the session cookie the page sets, or `?token=<token>` once, which sets that cookie.
 */
export const SESSION_COOKIE = 'edgedr_status';

/** 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`: addresses only this machine reaches. */
export function isLoopback(address: string): boolean {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (a === 'localhost' || a.endsWith('.localhost')) return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) === 6) return a === '::1' || /^::ffff:127\./.test(a) || a === '0:0:0:0:0:0:0:1';
  return false;
}

/** The host part of a Host header (`[::1]:8470`, `127.0.0.1:8470`, `gateway.local`). */
export function hostOf(header: string): string {
  const h = header.trim();
  if (h.startsWith('[')) return h.slice(1, Math.max(1, h.indexOf(']')));
  const colon = h.lastIndexOf(':');
  return colon === -1 || h.indexOf(':') !== colon ? h : h.slice(0, colon);
}

/** Equal strings in time that depends on neither their contents nor their lengths. */
export function sameSecret(candidate: string, secret: string): boolean {
  const a = createHash('sha256').update(candidate, 'utf8').digest();
  const b = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The cookie's value: derived from the token (the token itself never sits in a cookie jar). */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('edgedr status page session').digest('base64url');
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface RequestCredentials {
  readonly authorization?: string | undefined;
  readonly cookie?: string | undefined;
  /** `?token=` of the URL. */
  readonly queryToken?: string | undefined;
  readonly host?: string | undefined;
}

export type AccessVerdict =
  /** Let it through. */
  | { readonly kind: 'allow' }
  /** The URL's token was right: set the session cookie and send the browser to the URL without it. */
  | { readonly kind: 'set-session'; readonly cookie: string }
  /** 401, with nothing said about why. */
  | { readonly kind: 'deny' }
  /** 421: an open page reached under a name that is not loopback (DNS rebinding). */
  | { readonly kind: 'wrong-host' };

/**
 * The decision for one request. `token` null: the page is open (loopback only, enforced at start), so
 * only the Host is checked. Every credential present is checked, and any wrong one denies.
 */
export function checkAccess(request: RequestCredentials, token: string | null): AccessVerdict {
  if (token === null)
    return request.host !== undefined && isLoopback(hostOf(request.host))
      ? { kind: 'allow' }
      : { kind: 'wrong-host' };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '')?.[1];
  if (request.authorization !== undefined && bearer === undefined) return { kind: 'deny' };
  if (request.queryToken !== undefined) {
    if (!sameSecret(request.queryToken, token)) return { kind: 'deny' };
    return { kind: 'set-session', cookie: sessionValue(token) };
  }
  if (bearer !== undefined) return sameSecret(bearer, token) ? { kind: 'allow' } : { kind: 'deny' };
  const session = cookieValue(request.cookie, SESSION_COOKIE);
  if (session !== undefined && sameSecret(session, sessionValue(token))) return { kind: 'allow' };
  return { kind: 'deny' };
}
