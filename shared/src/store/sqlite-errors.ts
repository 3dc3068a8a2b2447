import { DrError, type ErrorCode } from '../errors';

function sqliteCode(err: unknown): string | undefined {
  if (err !== null && typeof err === 'object' && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isCorruption(err: unknown): boolean {
  const code = sqliteCode(err) ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}

/** Translates better-sqlite3 errors into the suite's codes; anything already a DrError passes through. */
export function storeError(err: unknown, action: string): DrError {
  if (err instanceof DrError) return err;
  const code = sqliteCode(err) ?? '';
  let mapped: ErrorCode = 'INTERNAL';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) mapped = 'STORE_BUSY';
  else if (code === 'SQLITE_FULL') mapped = 'STORE_FULL';
  else if (isCorruption(err)) mapped = 'STORE_CORRUPT';
  else if (
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_CANTOPEN'
  )
    mapped = 'STORE_IO';
  const message = err instanceof Error ? err.message : String(err);
  return new DrError(mapped, `store ${action} failed: ${message}`, { cause: err, details: { sqlite: code } });
}
