import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate and key paths by client name (the certificate's CN). */
  readonly clients: Readonly<Record<string, { cert: string; key: string }>>;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export type ClientSpec = string | { readonly name: string; readonly days: number };

/**
 * A throwaway certificate authority with a server certificate for 127.0.0.1/localhost and client
 * certificates, made with the openssl command line (EC P-256 keys: fast to generate). A client given
 * negative `days` gets a certificate that has already expired.
 */
export function makePki(
  dir: string,
  name: string,
  clients: readonly ClientSpec[],
  /** Further addresses the server answers on (a network namespace's). */
  serverAddresses: readonly string[] = [],
): Pki {
  const p = (f: string): string => join(dir, `${name}-${f}`);
  const key = (path: string): void =>
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
  key(p('ca.key'));
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    p('ca.key'),
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-out',
    p('ca.pem'),
  ]);
  const issue = (base: string, cn: string, ext: string, days = 2): void => {
    key(p(`${base}.key`));
    openssl(['req', '-new', '-key', p(`${base}.key`), '-subj', `/CN=${cn}`, '-out', p(`${base}.csr`)]);
    writeFileSync(p(`${base}.ext`), ext);
    openssl([
      'x509',
      '-req',
      '-in',
      p(`${base}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      p(`${base}.ext`),
      '-out',
      p(`${base}.pem`),
    ]);
  };
  const san = ['IP:127.0.0.1', ...serverAddresses.map((a) => `IP:${a}`), 'DNS:localhost'].join(',');
  issue('server', 'localhost', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  const out: Record<string, { cert: string; key: string }> = {};
  for (const spec of clients) {
    const c = typeof spec === 'string' ? spec : spec.name;
    issue(`client-${c}`, c, 'extendedKeyUsage=clientAuth\n', typeof spec === 'string' ? 2 : spec.days);
    out[c] = { cert: p(`client-${c}.pem`), key: p(`client-${c}.key`) };
  }
  return { caCert: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clients: out };
}

/** Mosquitto listener settings for TLS with required client certificates. */
export function tlsListenerConfig(pki: Pki): string[] {
  return [
    `cafile ${pki.caCert}`,
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    'require_certificate true',
    'use_identity_as_username true',
  ];
}
