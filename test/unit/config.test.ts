import { z } from 'zod';
import { cfg, checkConfig, parseConfig } from '../../shared/src/config';
import { isDrError } from '../../shared/src/errors';
import { storeSettingsSchema } from '../../shared/src/store';

const schema = z.strictObject({
  flushIntervalMs: cfg.int((n) => n.min(1)).default(50),
  ratio: cfg.number((n) => n.gt(0).max(1)).default(0.5),
  enabled: cfg.bool().default(true),
  mode: z.enum(['warm', 'cold']).default('warm'),
  region: z.strictObject({ name: z.string().min(1), port: cfg.int((n) => n.min(1).max(65535)) }),
});

function problemsOf(raw: unknown): string {
  try {
    parseConfig(schema, raw, 'test');
  } catch (err) {
    if (isDrError(err, 'CFG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('configuration was accepted');
}

describe('configuration parsing', () => {
  it('fills defaults from the schema and freezes the result', () => {
    const c = parseConfig(schema, { region: { name: 'eu-west-1', port: 8883 } }, 'test');
    expect(c).toEqual({
      flushIntervalMs: 50,
      ratio: 0.5,
      enabled: true,
      mode: 'warm',
      region: { name: 'eu-west-1', port: 8883 },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.region)).toBe(true);
  });

  it.each([
    [
      'numeric strings as Greengrass may deliver them',
      { flushIntervalMs: '25', ratio: '0.25', region: { name: 'a', port: '8883' } },
    ],
    ['integral floats', { flushIntervalMs: 25.0, region: { name: 'a', port: 8883.0 } }],
    ['boolean strings', { enabled: 'false', region: { name: 'a', port: 1 } }],
  ])('accepts %s', (_, raw) => {
    expect(() => parseConfig(schema, raw, 'test')).not.toThrow();
  });

  it('coerces only well-formed numbers', () => {
    expect(
      parseConfig(schema, { flushIntervalMs: ' 7 ', region: { name: 'a', port: 1 } }, 't').flushIntervalMs,
    ).toBe(7);
    expect(problemsOf({ flushIntervalMs: '', region: { name: 'a', port: 1 } })).toMatch(
      /flushIntervalMs: expected number, found string ""/,
    );
    expect(problemsOf({ flushIntervalMs: '12ms', region: { name: 'a', port: 1 } })).toMatch(
      /found string "12ms"/,
    );
    expect(problemsOf({ flushIntervalMs: '2.5', region: { name: 'a', port: 1 } })).toMatch(
      /flushIntervalMs: expected int/,
    );
  });

  it('prints every problem as path, expected, found', () => {
    const message = problemsOf({
      flushIntervalMs: 0,
      mode: 'hot',
      region: { port: 70000, nmae: 'x' },
      extra: 1,
    });
    expect(message).toContain('flushIntervalMs: expected >= 1, found number 0');
    expect(message).toContain('mode: expected one of "warm", "cold", found string "hot"');
    expect(message).toContain('region.name: expected string, found nothing (missing)');
    expect(message).toContain('region.port: expected <= 65535, found number 70000');
    expect(message).toContain('region.nmae: expected no such key (check the spelling), found string "x"');
    expect(message).toContain('extra: expected no such key');
  });

  it('answers a validation request with a verdict instead of throwing', () => {
    expect(checkConfig(schema, { region: { name: 'a', port: 1 } })).toMatchObject({
      ok: true,
      value: { region: { name: 'a', port: 1 } },
    });
    const verdict = checkConfig(schema, { region: { name: 'a', port: 'x' } });
    expect(verdict.ok).toBe(false);
    if (!verdict.ok)
      expect(verdict.problems).toEqual([{ path: 'region.port', expected: 'number', found: 'string "x"' }]);
  });

  it('cuts long found values', () => {
    const message = problemsOf({ mode: 'y'.repeat(500), region: { name: 'a', port: 1 } });
    expect(message.length).toBeLessThan(400);
    expect(message).toContain('...');
  });

  it('gives the store settings safe defaults', () => {
    const s = storeSettingsSchema.parse({});
    expect(s.synchronous).toBe('FULL');
    expect(s.maxStoreBytes).toBeGreaterThan(0);
    expect(() => storeSettingsSchema.parse({ synchronous: 'OFF' })).toThrow();
    expect(storeSettingsSchema.parse({ maxStoreBytes: '2097152' }).maxStoreBytes).toBe(2097152);
  });
});
