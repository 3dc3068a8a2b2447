import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DrError, ERROR_CATALOGUE, isDrError, toDrError } from '../../shared/src/errors';

describe('DrError', () => {
  it('takes retryable from the catalogue unless told otherwise', () => {
    expect(new DrError('STORE_BUSY', 'x').retryable).toBe(true);
    expect(new DrError('CFG_INVALID', 'x').retryable).toBe(false);
    expect(new DrError('STORE_BUSY', 'x', { retryable: false }).retryable).toBe(false);
  });

  it('keeps the cause and recognises codes', () => {
    const cause = new Error('disk I/O error');
    const err = new DrError('STORE_IO', 'write failed', { cause });
    expect(err.cause).toBe(cause);
    expect(isDrError(err)).toBe(true);
    expect(isDrError(err, 'STORE_IO')).toBe(true);
    expect(isDrError(err, 'STORE_FULL')).toBe(false);
    expect(isDrError(cause)).toBe(false);
  });

  it('wraps foreign throwables', () => {
    expect(toDrError('boom')).toMatchObject({ code: 'INTERNAL', message: 'boom' });
    const existing = new DrError('STORE_FULL', 'full');
    expect(toDrError(existing)).toBe(existing);
  });

  it('is documented in docs/errors.md, code by code', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(yes|no)\s*\|\s*(.+?)\s*\|$/gm)].map((m) => ({
      code: m[1],
      retryable: m[2] === 'yes',
      summary: m[3],
    }));
    const catalogue = Object.entries(ERROR_CATALOGUE).map(([code, e]) => ({
      code,
      retryable: e.retryable,
      summary: e.summary,
    }));
    expect(rows).toEqual(catalogue);
  });
});
