import { readFileSync, statSync } from 'node:fs';

export type OwnFile =
  | { readonly ok: true; readonly bytes: Buffer; readonly mtimeMs: number }
  | { readonly ok: false; readonly problem: string };

/**
 * A file the page is configured with (its token, its certificate and key), named by its configuration
 * key in every problem: a regular file no larger than `maxBytes` (`kind` says what it should have
 * been), and with `ownerOnly` readable by its owner only, like an SSH key: a secret others on the
 * gateway can read protects nothing. Problems name the file, never its contents.
 */
export function readOwnFile(
  key: string,
  path: string,
  options: { readonly ownerOnly: boolean; readonly maxBytes: number; readonly kind: string },
): OwnFile {
  try {
    const st = statSync(path);
    if (!st.isFile()) return { ok: false, problem: `${key} ${path} is not a file` };
    if (options.ownerOnly && (st.mode & 0o077) !== 0)
      return {
        ok: false,
        problem: `${key} ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      };
    if (st.size > options.maxBytes)
      return { ok: false, problem: `${key} ${path} is larger than ${options.kind}` };
    return { ok: true, bytes: readFileSync(path), mtimeMs: st.mtimeMs };
  } catch (err) {
    return {
      ok: false,
      problem: `${key} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
}
