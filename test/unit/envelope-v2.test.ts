import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import {
  decodeEnvelope,
  decodeEnvelopeHeads,
  encodeColumnarEnvelope,
  encodeEnvelope,
  packEnvelopes,
} from '../../shared/src/envelope';
import type { DrRecord, JsonObject } from '../../shared/src/record';
import { thrownBy } from '../support/thrown';

const T0 = 1_800_000_000_000;

/** Readings like a pump's: noisy decimals at the sensors' resolution, one per device per second. */
function readings(count: number, devices = 4, from = 1): DrRecord[] {
  let seed = 12345;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  return Array.from({ length: count }, (_, i) => ({
    id: `gw-1:abcd1234:${from + i}`,
    stream: 'telemetry',
    lane: 'telemetry' as const,
    deviceId: `pump-${i % devices}`,
    tsMs: T0 + Math.floor(i / devices) * 1000 + (i % devices),
    body: {
      accelerometer1RMS: Number((0.0265878 + noise() / 1e3).toFixed(7)),
      current: Number((1.3302 + noise() / 3).toFixed(6)),
      voltage: Number((233.062 + noise() * 10).toFixed(3)),
      ok: i % 7 !== 0,
    },
  }));
}

/** A v2 header for one record, with `overrides`. */
function v2Header(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 2,
    gatewayId: 'g',
    batchId: 'b',
    count: 1,
    firstId: 'a',
    lastId: 'a',
    encoding: 'columnar-gzip',
    inflatedBytes: 100,
    ...overrides,
  };
}

/** A v2 payload with a hand-made header and body, to feed the decoder what the encoder never would. */
function v2Payload(header: Record<string, unknown>, body: Buffer): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.from([0x45, 0x44, 0x52, 0x02, h.length >> 8, h.length & 0xff]);
  return Buffer.concat([prefix, h, body]);
}

/** Exact equality: the same fields, keys in the same order, numbers identical (-0 is not 0). */
function sameRecords(a: readonly DrRecord[], b: readonly DrRecord[]): void {
  const exact = (rs: readonly DrRecord[]): string[] =>
    rs.map((r) =>
      JSON.stringify(
        { id: r.id, stream: r.stream, lane: r.lane, deviceId: r.deviceId, tsMs: r.tsMs, body: r.body },
        (_, v: unknown) => (Object.is(v, -0) ? '(negative zero)' : v),
      ),
    );
  expect(exact(a)).toEqual(exact(b));
}

describe('batch envelope v2 (columnar)', () => {
  it('round-trips readings with a header that says what it is', () => {
    const input = readings(1000);
    const env = encodeColumnarEnvelope('gw-1', input, 'batch-7');
    expect(env.header).toEqual({
      v: 2,
      gatewayId: 'gw-1',
      batchId: 'batch-7',
      count: 1000,
      firstId: 'gw-1:abcd1234:1',
      lastId: 'gw-1:abcd1234:1000',
      encoding: 'columnar-gzip',
      inflatedBytes: env.jsonBytes,
    });
    expect(env.payload.subarray(0, 4)).toEqual(Buffer.from('EDR\x02', 'latin1'));
    expect(env.userProperties).toContainEqual({ name: 'envelopeVersion', value: '2' });
    const decoded = decodeEnvelope(env.payload);
    expect(decoded.header).toEqual(env.header);
    sameRecords(decoded.records, input);
    // Far smaller than the v1 envelope of the same records.
    expect(env.payload.length).toBeLessThan(encodeEnvelope('gw-1', input).payload.length / 2);
  });

  it.each<[string, JsonObject[]]>([
    ['floats that are not short decimals', [{ x: Math.PI }, { x: 0.1 + 0.2 }, { x: -1e-300 }, { x: 5e-324 }]],
    ['negative zero and huge integers', [{ x: -0 }, { x: 2 ** 60 }, { x: -(2 ** 53) }, { x: 1e21 }]],
    ['mixed types in one column', [{ v: 1 }, { v: 'one' }, { v: null }, { v: true }, { v: [1, { a: 2 }] }]],
    ['keys in another order and missing keys', [{ a: 1, b: 2 }, { b: 2, a: 1 }, { a: 1 }, { c: 'x' }]],
    ['__proto__ and other special keys as data', [{ ['__proto__']: 5, constructor: 'c', toString: 1 }]],
    [
      'nested objects with __proto__',
      [{ nested: JSON.parse('{"__proto__":{"polluted":true}}') as JsonObject }],
    ],
    ['unicode keys and strings', [{ 'clé ✓': 'värde \u0000 \uD83D\uDE00', '': '' }]],
    ['an empty body', [{}]],
  ])('round-trips %s exactly', (_, bodies) => {
    const input = bodies.map((body, i) => ({ ...readings(1, 1, i + 1)[0], body }) as DrRecord);
    const decoded = decodeEnvelope(encodeColumnarEnvelope('gw-1', input).payload).records;
    sameRecords(decoded, input);
    for (const r of decoded) expect(Object.getPrototypeOf(r.body)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps ids that are not store ids, several stores, lanes and streams, in their order', () => {
    const input: DrRecord[] = [
      { id: 'custom-id', stream: 'a', lane: 'alert', deviceId: 'd1', tsMs: 5, body: { x: 1 } },
      { id: 'gw-1:aaaa:7', stream: 'a', lane: 'telemetry', deviceId: 'd1', tsMs: 3, body: { x: 2 } },
      { id: 'gw-1:bbbb:2', stream: 'b/c', lane: 'telemetry', deviceId: 'd2', tsMs: 0, body: { x: 3 } },
      { id: 'gw-1:aaaa:0', stream: 'a', lane: 'alert', deviceId: 'd1', tsMs: 2 ** 53 - 1, body: { x: 4 } },
      { id: 'gw-1:aaaa:08', stream: 'a', lane: 'telemetry', deviceId: 'd1', tsMs: 9, body: { x: 5 } },
      { id: 'gw-1:aaaa:6', stream: 'a', lane: 'telemetry', deviceId: 'd1', tsMs: 1, body: { x: 6 } },
    ];
    sameRecords(decodeEnvelope(encodeColumnarEnvelope('gw-1', input).payload).records, input);
  });

  it('round-trips arbitrary records, as v1 and as v2', () => {
    const value = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.string({ maxLength: 6 }),
      fc.boolean(),
      fc.constant(null),
    );
    const record = fc.record({
      stream: fc.constantFrom('s', 'pump/flow', 'x.y-z_1'),
      lane: fc.constantFrom('alert' as const, 'telemetry' as const),
      deviceId: fc.constantFrom('d1', 'd2', 'd3'),
      tsMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constant(T0)),
      body: fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', 'é'), value, { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 1e6 }),
        (rs, from) => {
          const input = rs.map((r, i) => ({ ...r, id: `gw-1:e1:${from + i * 3}` }));
          const payload = encodeColumnarEnvelope('gw-1', input).payload;
          sameRecords(decodeEnvelope(payload).records, input);
          // Heads alone: the same ids, lanes, streams, devices and times, in order.
          expect(decodeEnvelopeHeads(payload).heads).toEqual(
            input.map(({ id, lane, stream, deviceId, tsMs }) => ({ id, lane, stream, deviceId, tsMs })),
          );
          // v1 is JSON: it cannot tell -0 from 0, otherwise the same.
          const viaJson = JSON.parse(JSON.stringify(input)) as DrRecord[];
          expect(decodeEnvelope(encodeEnvelope('gw-1', input).payload).records).toEqual(viaJson);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('packs a backlog into v2 envelopes under the size limit, in order, each record once', () => {
    const input = readings(30_000, 50);
    const envelopes = packEnvelopes('gw-1', input, 16 * 1024, { version: 2 });
    expect(envelopes.length).toBeGreaterThan(2);
    for (const e of envelopes) {
      expect(e.header.v).toBe(2);
      expect(e.payload.length).toBeLessThanOrEqual(16 * 1024);
    }
    for (const e of envelopes.slice(0, -1)) expect(e.payload.length).toBeGreaterThan(0.8 * 16 * 1024);
    sameRecords(
      envelopes.flatMap((e) => decodeEnvelope(e.payload).records),
      input,
    );
  });
});

describe('the envelope decoder refuses what it must not trust', () => {
  const small = readings(3);

  it('refuses a gzip bomb with RECORD_INVALID and without inflating it', () => {
    // 122 KB of gzip that would inflate to about 120 MB of JSON.
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"header":{"v":1},"records":["'), Buffer.alloc(120e6, 0x61)]),
    );
    expect(bomb.length).toBeLessThan(128 * 1024);
    const rssBefore = process.memoryUsage().rss;
    expect(thrownBy(() => decodeEnvelope(bomb))).toMatchObject({ code: 'RECORD_INVALID' });
    expect((thrownBy(() => decodeEnvelope(bomb)) as Error).message).toMatch(/inflates past the limit/);
    // The decoder stops at its limit (8 MiB by default), far below the bomb's 120 MB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64e6);
    const v2bomb = v2Payload(v2Header({ inflatedBytes: 100 }), gzipSync(Buffer.alloc(50e6)));
    expect(thrownBy(() => decodeEnvelope(v2bomb))).toMatchObject({ code: 'RECORD_INVALID' });
  });

  it('honours a configured inflate limit', () => {
    const env = encodeEnvelope('gw-1', readings(500));
    expect(decodeEnvelope(env.payload).records).toHaveLength(500);
    expect(thrownBy(() => decodeEnvelope(env.payload, { maxInflatedBytes: 1024 }))).toMatchObject({
      code: 'RECORD_INVALID',
    });
    const v2 = encodeColumnarEnvelope('gw-1', readings(500));
    expect(thrownBy(() => decodeEnvelope(v2.payload, { maxInflatedBytes: 64 }))).toMatchObject({
      code: 'RECORD_INVALID',
    });
  });

  it('refuses a deeply nested body with RECORD_INVALID, not a RangeError', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const doc = `{"header":{"v":1,"gatewayId":"g","batchId":"b","count":1,"firstId":"g:e:1","lastId":"g:e:1","encoding":"gzip"},"records":[{"id":"g:e:1","stream":"s","lane":"telemetry","deviceId":"d","tsMs":1,"body":{"x":${deep}}}]}`;
    const payload = gzipSync(Buffer.from(doc));
    expect(payload.length).toBeLessThan(1024);
    const err = thrownBy(() => decodeEnvelope(payload)) as Error;
    expect(err).toMatchObject({ code: 'RECORD_INVALID' });
    expect(err.message).toMatch(/nested deeper/);
    // The same through v2: a tagged JSON value nested too deep.
    const nested = small.map((r) => ({
      ...r,
      body: { x: JSON.parse(deep.slice(0, 100) + deep.slice(-100)) as JsonObject },
    }));
    expect(thrownBy(() => decodeEnvelope(encodeColumnarEnvelope('gw-1', nested).payload))).toMatchObject({
      code: 'RECORD_INVALID',
    });
  });

  it('refuses duplicate record ids in one envelope, with a reason', () => {
    const twice = [...small, small[0] as DrRecord].map((r, i, all) => (i === all.length - 1 ? { ...r } : r));
    for (const env of [encodeEnvelope('gw-1', twice), encodeColumnarEnvelope('gw-1', twice)]) {
      const err = thrownBy(() => decodeEnvelope(env.payload));
      expect(err).toMatchObject({ code: 'RECORD_INVALID', details: { reason: 'duplicate_id' } });
    }
  });

  it('never throws anything but RECORD_INVALID on damaged v2 payloads', () => {
    const good = encodeColumnarEnvelope('gw-1', readings(200)).payload;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(good.length),
        (at, byte, cut) => {
          const flipped = Buffer.from(good);
          flipped[at] = byte;
          for (const payload of [flipped, good.subarray(0, cut)]) {
            for (const decode of [decodeEnvelope, decodeEnvelopeHeads]) {
              try {
                decode(payload);
              } catch (err) {
                expect(err).toMatchObject({ code: 'RECORD_INVALID' });
              }
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each<[string, Buffer]>([
    ['a truncated v2 prefix', Buffer.from('EDR\x02', 'latin1')],
    ['a v2 header that is not JSON', v2Payload({}, Buffer.alloc(0)).fill(0x20, 6)],
    [
      'a v2 header of another encoding',
      v2Payload(v2Header({ encoding: 'gzip', inflatedBytes: 1 }), Buffer.alloc(0)),
    ],
    ['a v2 body that is not gzip', v2Payload(v2Header({ inflatedBytes: 4 }), Buffer.from('nope'))],
    [
      'a v2 body that claims a million records',
      v2Payload(v2Header({ inflatedBytes: 5 }), gzipSync(Buffer.from([1, 0xc0, 0x84, 0x3d, 0]))),
    ],
  ])('refuses %s with RECORD_INVALID', (_, payload) => {
    expect(thrownBy(() => decodeEnvelope(payload))).toMatchObject({ code: 'RECORD_INVALID' });
  });
});
