import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { decodeEnvelope, encodeEnvelope, packEnvelopes } from '../../shared/src/envelope';
import type { DrRecord } from '../../shared/src/record';
import { thrownBy } from '../support/thrown';

const T0 = 1_800_000_000_000;

function records(count: number, padBytes = 0, from = 1): DrRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `gw-1:abcd1234:${from + i}`,
    stream: 'pump/vibration',
    lane: 'telemetry' as const,
    deviceId: `pump-${i % 4}`,
    tsMs: T0 + i,
    body: {
      rms: 0.0273 + (i % 100) / 1e4,
      current: 0.8,
      n: from + i,
      ...(padBytes > 0 ? { pad: 'x'.repeat(padBytes) } : {}),
    },
  }));
}

describe('batch envelope', () => {
  it('round-trips records with a header that describes them, compressed when smaller', () => {
    const input = records(300);
    const env = encodeEnvelope('gw-1', input, 'batch-1');
    expect(env.header).toEqual({
      v: 1,
      gatewayId: 'gw-1',
      batchId: 'batch-1',
      count: 300,
      firstId: 'gw-1:abcd1234:1',
      lastId: 'gw-1:abcd1234:300',
      encoding: 'gzip',
    });
    expect(env.payload.length).toBeLessThan(env.jsonBytes / 3);
    expect(env.userProperties).toEqual([
      { name: 'batchId', value: 'batch-1' },
      { name: 'encoding', value: 'gzip' },
      { name: 'envelopeVersion', value: '1' },
    ]);
    expect(decodeEnvelope(env.payload)).toEqual({ header: env.header, records: input });
  });

  it('compresses only when that is smaller, and decodes plain JSON envelopes too', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        (count, noise) => {
          const input = records(count).map((r) => ({
            ...r,
            body: { ...r.body, noise: Buffer.from(noise).toString('base64') },
          }));
          const env = encodeEnvelope('gw-1', input);
          if (env.header.encoding === 'gzip') expect(env.payload.length).toBeLessThan(env.jsonBytes);
          else expect(env.payload.length).toBe(env.jsonBytes);
        },
      ),
      { numRuns: 100 },
    );
    const input = records(2);
    const plain = Buffer.from(
      JSON.stringify({
        header: {
          v: 1,
          gatewayId: 'gw-1',
          batchId: 'b',
          count: 2,
          firstId: input[0]?.id,
          lastId: input[1]?.id,
          encoding: 'json',
        },
        records: input,
      }),
    );
    expect(decodeEnvelope(plain).records).toEqual(input);
    // A header that misstates the encoding is refused.
    expect(thrownBy(() => decodeEnvelope(gzipSync(plain)))).toMatchObject({ code: 'RECORD_INVALID' });
  });

  it('packs a backlog into envelopes under the size limit, in order, every record exactly once', () => {
    const input = records(5_000, 40);
    const envelopes = packEnvelopes('gw-1', input, 32 * 1024);
    expect(envelopes.length).toBeGreaterThan(1);
    for (const e of envelopes) expect(e.payload.length).toBeLessThanOrEqual(32 * 1024);
    const decoded = envelopes.flatMap((e) => decodeEnvelope(e.payload).records);
    expect(decoded).toEqual(input);
    // Filled, not fragmented: all but the last envelope are close to the limit.
    for (const e of envelopes.slice(0, -1)) expect(e.payload.length).toBeGreaterThan(0.8 * 32 * 1024);
  });

  it('refuses a record that cannot fit in any envelope', () => {
    const huge = records(1).map((r) => ({ ...r, body: { noise: randomBytes(150_000).toString('base64') } }));
    expect(thrownBy(() => packEnvelopes('gw-1', huge, 16 * 1024))).toMatchObject({
      code: 'RECORD_TOO_LARGE',
    });
  });

  it.each([
    ['garbage', Buffer.from('not an envelope')],
    ['broken gzip', Buffer.from([0x1f, 0x8b, 1, 2, 3])],
    ['another version', Buffer.from(JSON.stringify({ header: { v: 2 }, records: [] }))],
    [
      'a header that lies about its records',
      gzipSync(
        Buffer.from(
          JSON.stringify({
            header: {
              v: 1,
              gatewayId: 'g',
              batchId: 'b',
              count: 2,
              firstId: 'g:e:1',
              lastId: 'g:e:1',
              encoding: 'gzip',
            },
            records: records(1),
          }),
        ),
      ),
    ],
  ])('rejects %s with RECORD_INVALID', (_, payload) => {
    expect(thrownBy(() => decodeEnvelope(payload))).toMatchObject({ code: 'RECORD_INVALID' });
  });

  it('round-trips arbitrary record bodies', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.dictionary(
            fc.string({ maxLength: 8 }),
            fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean()),
          ),
          {
            minLength: 1,
            maxLength: 50,
          },
        ),
        (bodies) => {
          const input = bodies.map((body, i) => ({ ...records(1, 0, i + 1)[0], body }) as DrRecord);
          const decoded = packEnvelopes('gw-1', input, 8 * 1024).flatMap(
            (e) => decodeEnvelope(e.payload).records,
          );
          expect(decoded).toEqual(JSON.parse(JSON.stringify(input)));
        },
      ),
      { numRuns: 200 },
    );
  });
});
