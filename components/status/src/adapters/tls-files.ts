import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { StatusConfig } from '../config';
import { readOwnFile } from './own-file';

/** The oldest TLS version the page speaks. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** A PEM chain or key larger than this is not one. */
const MAX_PEM_BYTES = 64 * 1024;

export type TlsSettings = NonNullable<StatusConfig['tls']>;

export type TlsFiles =
  | {
      readonly ok: true;
      readonly cert: Buffer;
      readonly key: Buffer;
      /** A digest of both files' bytes: a renewal changes it, however the files were copied. */
      readonly fingerprint: string;
      readonly subject: string;
      readonly notAfter: Date;
      /** The names and addresses the certificate is valid for (its subjectAltName). */
      readonly names: string;
    }
  | { readonly ok: false; readonly problem: string };

/**
 * The page's certificate (PEM, the server's first, then any intermediates) and its private key (PEM,
 * unencrypted, readable by the component's user only, like the token: a key others can read protects
 * nothing). They must belong together, and the whole chain must load as TLS will load it (a renewal
 * caught half-written fails here, not in the server). Problems name the files, never the key's
 * contents. An expired certificate is not a problem here: the page keeps serving (a browser can still
 * be told to go on) and the service warns.
 */
export function readTlsFiles(tls: TlsSettings): TlsFiles {
  const pem = { maxBytes: MAX_PEM_BYTES, kind: 'a PEM file' };
  const cert = readOwnFile('tls.certPath', tls.certPath, { ...pem, ownerOnly: false });
  if (!cert.ok) return cert;
  const key = readOwnFile('tls.keyPath', tls.keyPath, { ...pem, ownerOnly: true });
  if (!key.ok) return key;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.bytes);
  } catch {
    return { ok: false, problem: `tls.certPath ${tls.certPath} holds no PEM certificate` };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.bytes);
  } catch (err) {
    const encrypted = /passphrase|encrypted/i.test(String(err)) || key.bytes.includes('ENCRYPTED');
    return {
      ok: false,
      problem: encrypted
        ? `tls.keyPath ${tls.keyPath} is encrypted: the page cannot ask for a passphrase; store the key unencrypted with mode 0600`
        : `tls.keyPath ${tls.keyPath} holds no PEM private key`,
    };
  }
  if (!x509.checkPrivateKey(privateKey))
    return {
      ok: false,
      problem: `tls.keyPath ${tls.keyPath} is not the key of the certificate in ${tls.certPath}`,
    };
  try {
    createSecureContext({ cert: cert.bytes, key: key.bytes, minVersion: TLS_MIN_VERSION });
  } catch (err) {
    return {
      ok: false,
      problem: `tls.certPath ${tls.certPath} and tls.keyPath ${tls.keyPath} do not load as a TLS certificate chain (${(err as Error).message.replace(/^error:[0-9A-F]+:/i, '')})`,
    };
  }
  return {
    ok: true,
    cert: cert.bytes,
    key: key.bytes,
    fingerprint: createHash('sha256').update(cert.bytes).update('\0').update(key.bytes).digest('hex'),
    subject: x509.subject.replace(/\n/g, ', '),
    notAfter: new Date(x509.validTo),
    names: x509.subjectAltName ?? '',
  };
}

/** What keeps a TLS configuration from starting (nothing when TLS is off). */
export function tlsProblems(tls: StatusConfig['tls']): string[] {
  if (tls === null) return [];
  const files = readTlsFiles(tls);
  return files.ok ? [] : [files.problem];
}
