import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessProblems } from '../../components/status/src/adapters/token-file';
import { readTlsFiles } from '../../components/status/src/adapters/tls-files';
import { statusConfigSchema } from '../../components/status/src/config';
import { makePki, type Pki } from '../../dev/pki';
import { useTempDir } from '../support/temp-dir';

/** The status page's certificate files: what is served, and what is refused with which reason. */
describe("the status page's certificate files", () => {
  const tempDir = useTempDir('ggdr-status-tls-');
  let dir: string;
  let pki: Pki;
  let other: Pki;
  beforeEach(() => {
    dir = tempDir();
    pki = makePki(dir, 'gw', [], ['192.168.50.7']);
    other = makePki(dir, 'other', []);
    chmodSync(pki.serverKey, 0o600);
  });

  it('reads a certificate with its key, naming its subject, addresses and end', () => {
    const files = readTlsFiles({ certPath: pki.serverCert, keyPath: pki.serverKey });
    if (!files.ok) throw new Error(files.problem);
    expect(files.subject).toBe('CN=localhost');
    expect(files.names).toContain('IP Address:192.168.50.7');
    expect(files.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(files.cert.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('tells a renewal by the contents, not by the modification time', () => {
    const tls = { certPath: join(dir, 'page.pem'), keyPath: join(dir, 'page.key') };
    const install = (from: Pki): void => {
      copyFileSync(from.serverCert, tls.certPath);
      copyFileSync(from.serverKey, tls.keyPath);
      chmodSync(tls.keyPath, 0o600);
    };
    const fingerprint = (): string => {
      const files = readTlsFiles(tls);
      if (!files.ok) throw new Error(files.problem);
      return files.fingerprint;
    };
    install(pki);
    const first = fingerprint();
    expect(fingerprint()).toBe(first);
    install(other);
    const when = new Date('2026-01-01T00:00:00Z');
    utimesSync(tls.certPath, when, when);
    utimesSync(tls.keyPath, when, when);
    expect(fingerprint()).not.toBe(first);
  });

  it.each([
    [
      'a key others can read',
      (): { certPath: string; keyPath: string } => {
        chmodSync(pki.serverKey, 0o644);
        return { certPath: pki.serverCert, keyPath: pki.serverKey };
      },
      /^tls\.keyPath .* is readable by others \(mode 644\): chmod 600 it$/,
    ],
    [
      "another certificate's key",
      () => {
        const key = join(dir, 'wrong.key');
        copyFileSync(other.serverKey, key);
        chmodSync(key, 0o600);
        return { certPath: pki.serverCert, keyPath: key };
      },
      /is not the key of the certificate in/,
    ],
    [
      'an encrypted key',
      () => {
        const key = join(dir, 'encrypted.key');
        execFileSync('openssl', [
          'pkey',
          '-in',
          pki.serverKey,
          '-aes256',
          '-passout',
          'pass:secret',
          '-out',
          key,
        ]);
        chmodSync(key, 0o600);
        return { certPath: pki.serverCert, keyPath: key };
      },
      /is encrypted: the page cannot ask for a passphrase/,
    ],
    [
      'a missing certificate',
      () => ({ certPath: join(dir, 'none.pem'), keyPath: pki.serverKey }),
      /^tls\.certPath .*none\.pem cannot be read \(ENOENT\)$/,
    ],
    [
      'a certificate file that holds none',
      () => {
        const cert = join(dir, 'junk.pem');
        writeFileSync(cert, 'not a certificate\n');
        return { certPath: cert, keyPath: pki.serverKey };
      },
      /holds no PEM certificate/,
    ],
    [
      'a chain whose second certificate is cut off (a renewal caught half-written)',
      () => {
        const cert = join(dir, 'cut.pem');
        const pem = readFileSync(pki.serverCert, 'utf8');
        writeFileSync(cert, `${pem}${pem.slice(0, Math.floor(pem.length / 2))}`);
        return { certPath: cert, keyPath: pki.serverKey };
      },
      /do not load as a TLS certificate chain/,
    ],
    [
      'a key file that holds none',
      () => {
        const key = join(dir, 'junk.key');
        writeFileSync(key, 'not a key\n', { mode: 0o600 });
        return { certPath: pki.serverCert, keyPath: key };
      },
      /holds no PEM private key/,
    ],
  ])('refuses %s with the reason', (_name, make, reason) => {
    const files = readTlsFiles(make());
    expect(files.ok).toBe(false);
    expect(files.ok ? '' : files.problem).toMatch(reason);
  });

  it('keeps a configuration with unusable certificate files from starting, beside the token check', () => {
    chmodSync(pki.serverKey, 0o640);
    const tls = { certPath: pki.serverCert, keyPath: pki.serverKey };
    expect(accessProblems({ listenAddress: '127.0.0.1', tokenPath: null, tls })).toEqual([
      expect.stringMatching(/is readable by others/),
    ]);
    expect(accessProblems({ listenAddress: '192.168.50.7', tokenPath: null, tls })).toEqual([
      expect.stringMatching(/is not loopback/),
      expect.stringMatching(/is readable by others/),
    ]);
    chmodSync(pki.serverKey, 0o600);
    expect(accessProblems({ listenAddress: '127.0.0.1', tokenPath: null, tls })).toEqual([]);
  });

  it('is off by default and needs both paths when on', () => {
    expect(statusConfigSchema.parse({}).tls).toBeNull();
    expect(statusConfigSchema.parse({ tls: 'null' }).tls).toBeNull();
    expect(statusConfigSchema.safeParse({ tls: { certPath: '/etc/edgedr/status.pem' } }).success).toBe(false);
    expect(statusConfigSchema.parse({ tls: { certPath: '/a.pem', keyPath: '/a.key' } }).tls).toEqual({
      certPath: '/a.pem',
      keyPath: '/a.key',
    });
  });
});
