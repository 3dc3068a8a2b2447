import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { RegionConfig } from '../regions';

/**
 * Why a region cannot be reached, in words an operator can act on. The MQTT client reports TLS failures
 * as one generic negotiation error, so Replay repeats the handshake with Node's TLS stack to name the
 * cause: an expired certificate, a CA that does not trust the server, a client certificate the region
 * refuses, or plain unreachability. Never includes a key's contents.
 */
export type Diagnosis =
  | { readonly kind: 'ok' }
  | { readonly kind: 'certificate'; readonly cause: string }
  | { readonly kind: 'network'; readonly cause: string };

/** Local checks of the certificate and key files: validity dates and that the key belongs to the certificate. */
export function checkCertificateFiles(region: RegionConfig, nowMs: number): Diagnosis {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(region.certificatePath));
  } catch {
    return {
      kind: 'certificate',
      cause: `certificatePath ${region.certificatePath} is not a PEM certificate`,
    };
  }
  const validTo = Date.parse(cert.validTo);
  const validFrom = Date.parse(cert.validFrom);
  if (Number.isFinite(validTo) && nowMs > validTo) {
    return {
      kind: 'certificate',
      cause: `certificate ${region.certificatePath} expired on ${new Date(validTo).toISOString()}`,
    };
  }
  if (Number.isFinite(validFrom) && nowMs < validFrom) {
    return {
      kind: 'certificate',
      cause: `certificate ${region.certificatePath} is not valid before ${new Date(validFrom).toISOString()} (check the clock)`,
    };
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(region.privateKeyPath)))) {
      return {
        kind: 'certificate',
        cause: `private key ${region.privateKeyPath} does not belong to certificate ${region.certificatePath}`,
      };
    }
  } catch {
    return {
      kind: 'certificate',
      cause: `privateKeyPath ${region.privateKeyPath} is not a usable private key`,
    };
  }
  try {
    new X509Certificate(readFileSync(region.caPath));
  } catch {
    return { kind: 'certificate', cause: `caPath ${region.caPath} is not a PEM certificate` };
  }
  return { kind: 'ok' };
}

const SERVER_NOT_TRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

function describeTlsError(region: RegionConfig, err: NodeJS.ErrnoException): Diagnosis {
  const code = err.code ?? '';
  if (SERVER_NOT_TRUSTED.has(code)) {
    return {
      kind: 'certificate',
      cause: `the server's certificate is not trusted by caPath ${region.caPath} (${code})`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return { kind: 'certificate', cause: `the server's certificate has expired (${code})` };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      kind: 'certificate',
      cause: `the server's certificate does not name ${region.endpoint} (${code})`,
    };
  }
  if (code.startsWith('ERR_SSL_') && code.includes('ALERT')) {
    const alert = code
      .replace(/^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/, '')
      .toLowerCase()
      .replaceAll('_', ' ');
    return {
      kind: 'certificate',
      cause: `the region refused the client certificate ${region.certificatePath}: ${alert}`,
    };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return { kind: 'certificate', cause: `TLS handshake failed: ${code}` };
  }
  return {
    kind: 'network',
    cause: `${region.endpoint}:${region.port} unreachable: ${code === '' ? err.message : code}`,
  };
}

/**
 * One TLS handshake with the region's files, after the local checks at `nowMs` (the injected clock's
 * time). With TLS 1.3 the server judges the client certificate after the client has finished, so a
 * refusal arrives as an alert shortly after; the probe waits `settleMs` for it.
 */
export function diagnoseRegion(
  region: RegionConfig,
  timeoutMs: number,
  nowMs: number,
  settleMs = 300,
): Promise<Diagnosis> {
  const local = checkCertificateFiles(region, nowMs);
  if (local.kind !== 'ok') return Promise.resolve(local);
  return new Promise((resolve) => {
    let done = false;
    const finish = (d: Diagnosis): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(d);
    };
    const socket = connect({
      host: region.endpoint,
      port: region.port,
      ca: readFileSync(region.caPath),
      cert: readFileSync(region.certificatePath),
      key: readFileSync(region.privateKeyPath),
      ...(isIP(region.endpoint) === 0 ? { servername: region.endpoint } : {}),
    });
    const timer = setTimeout(
      () =>
        finish({
          kind: 'network',
          cause: `${region.endpoint}:${region.port} did not complete a TLS handshake within ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
    socket.once('error', (err: NodeJS.ErrnoException) => finish(describeTlsError(region, err)));
    socket.once('secureConnect', () => {
      setTimeout(() => finish({ kind: 'ok' }), settleMs);
    });
    socket.once('end', () => {
      if (socket.authorized)
        finish({
          kind: 'certificate',
          cause: `the region closed the connection after the handshake: client certificate ${region.certificatePath} refused?`,
        });
    });
  });
}
