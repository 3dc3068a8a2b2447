import { isLoopback } from '../auth';
import type { StatusConfig } from '../config';
import { readOwnFile } from './own-file';
import { tlsProblems } from './tls-files';

export const MIN_TOKEN_CHARS = 16;
const MAX_TOKEN_FILE_BYTES = 4_096;

export type TokenFile =
  | { readonly ok: true; readonly token: string; readonly mtimeMs: number }
  | { readonly ok: false; readonly problem: string };

/**
 * The access token from its file: a regular file readable by its owner only (like an SSH key: a token
 * others on the gateway can read protects nothing), one line of at least 16 characters without spaces.
 * The token is never logged; problems name the file, not its contents.
 */
export function readTokenFile(path: string): TokenFile {
  const file = readOwnFile('tokenPath', path, {
    ownerOnly: true,
    maxBytes: MAX_TOKEN_FILE_BYTES,
    kind: 'a token',
  });
  if (!file.ok) return file;
  const token = file.bytes.toString('utf8').trim();
  const { mtimeMs } = file;
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token))
    return {
      ok: false,
      problem: `tokenPath ${path} must hold one token of at least ${MIN_TOKEN_CHARS} characters without spaces`,
    };
  return { ok: true, token, mtimeMs };
}

/**
 * What keeps a configuration from starting: a listener beyond loopback without a token, a token file
 * that is missing, too open or too short, and certificate files that are unusable (missing, a key
 * others can read or that is not the certificate's). Run at start and for every proposed deployment.
 */
export function accessProblems(
  config: Pick<StatusConfig, 'listenAddress' | 'tokenPath'> & Partial<Pick<StatusConfig, 'tls'>>,
): string[] {
  const tls = tlsProblems(config.tls ?? null);
  if (config.tokenPath === null)
    return isLoopback(config.listenAddress)
      ? tls
      : [
          `listenAddress ${config.listenAddress} is not loopback: set tokenPath to a token file (mode 0600) or listen on 127.0.0.1`,
          ...tls,
        ];
  const file = readTokenFile(config.tokenPath);
  return file.ok ? tls : [file.problem, ...tls];
}
