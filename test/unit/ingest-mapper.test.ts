import fc from 'fast-check';
import { mappingSchema } from '../../components/ingest/src/config';
import { compileTopicPattern, createMapper } from '../../components/ingest/src/core/mapper';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

function mapper(mapping: Record<string, unknown> = {}, extra: { allowedDevices?: string[] } = {}) {
  return createMapper({
    mapping: mappingSchema.parse({
      topicPattern: 'sensors/{deviceId}/{stream}',
      timestampField: 'ts',
      ...mapping,
    }),
    maxPayloadBytes: 4096,
    ...(extra.allowedDevices === undefined ? {} : { allowedDevices: new Set(extra.allowedDevices) }),
  });
}

describe('ingest mapping', () => {
  it('takes device and stream from named topic levels', () => {
    const match = compileTopicPattern('site/+/{deviceId}/{stream}');
    expect(match('site/a/pump-1/flow')).toEqual({ deviceId: 'pump-1', stream: 'flow' });
    expect(match('site/a/pump-1')).toBeNull();
    expect(match('site/a/pump-1/flow/extra')).toBeNull();
    expect(match('other/a/pump-1/flow')).toBeNull();
    expect(compileTopicPattern('dev/{deviceId}/#')('dev/x/a/b')).toEqual({ deviceId: 'x' });
  });

  it.each([
    ['ms', NOW, NOW],
    ['s', NOW / 1000, NOW],
    ['auto', NOW / 1000, NOW],
    ['auto', NOW, NOW],
    ['iso', new Date(NOW).toISOString(), NOW],
    ['auto', '2026-11-26T12:00:00+00:00', NOW],
  ])('reads a %s timestamp %p', (unit, ts, expected) => {
    const result = mapper({ timestampUnit: unit })('sensors/p/flow', { ts, v: 1 }, NOW);
    expect(result).toEqual({
      ok: true,
      record: { stream: 'flow', lane: 'telemetry', deviceId: 'p', tsMs: expected, body: { v: 1 } },
    });
  });

  it('uses payload fields over topic levels, and a measurements field when configured', () => {
    const m = mapper({ deviceIdField: 'id', streamField: 'kind', measurementsField: 'm' });
    expect(
      m(
        'sensors/topicdev/topicstream',
        { id: 'fielddev', kind: 'vib', ts: NOW, m: { rms: 0.1 }, junk: 1 },
        NOW,
      ),
    ).toEqual({
      ok: true,
      record: { stream: 'vib', lane: 'telemetry', deviceId: 'fielddev', tsMs: NOW, body: { rms: 0.1 } },
    });
  });

  it('stamps arrival time when no timestamp field is configured', () => {
    const m = mapper({ timestampField: undefined });
    const result = m('sensors/p/flow', { v: 2 }, NOW);
    expect(result.ok && result.record.tsMs).toBe(NOW);
  });

  it.each([
    ['oversize', Buffer.alloc(5000, 0x20)],
    ['not_json', Buffer.from('{"a":')],
    ['not_object', Buffer.from('[1]')],
    ['not_object', 'a string'],
    ['bad_timestamp', { v: 1 }],
    ['bad_timestamp', { ts: 'yesterday', v: 1 }],
    ['bad_timestamp', { ts: null, v: 1 }],
    ['timestamp_out_of_bounds', { ts: NOW + 3_600_000, v: 1 }],
    ['timestamp_out_of_bounds', { ts: NOW - 365 * 86_400_000, v: 1 }],
    ['non_finite', Buffer.from(`{"ts": ${NOW}, "v": 1e999}`)],
    ['bad_measurements', { ts: NOW }],
    ['bad_measurements', { ts: NOW, v: [1, 2] }],
    ['bad_measurements', { ts: NOW, v: 'x'.repeat(2000) }],
    ['reserved_key', Buffer.from(`{"ts": ${NOW}, "v": 1, "__proto__": 3}`)],
    ['reserved_key', JSON.parse(`{"ts": ${NOW}, "__proto__": {"polluted": true}}`) as unknown],
  ])('refuses with %s', (reason, payload) => {
    const result = mapper()('sensors/p/flow', payload, NOW);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('refuses devices outside the allow-list and malformed ids and streams', () => {
    expect(mapper({}, { allowedDevices: ['a'] })('sensors/b/flow', { ts: NOW, v: 1 }, NOW)).toMatchObject({
      reason: 'unknown_device',
    });
    expect(mapper()('elsewhere/x', { ts: NOW, v: 1 }, NOW)).toMatchObject({ reason: 'no_device' });
    expect(mapper({ deviceIdField: 'id' })('x', { id: 5, ts: NOW, v: 1 }, NOW)).toMatchObject({
      reason: 'bad_device',
    });
    expect(mapper()('sensors/p/bad stream', { ts: NOW, v: 1 }, NOW)).toMatchObject({ reason: 'bad_stream' });
  });

  it('answers every input with a record or a reason, never an exception', () => {
    const m = mapper({ timestampUnit: 'auto' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.anything(),
        ),
        fc.string({ maxLength: 40 }),
        (payload, topic) => {
          const result = m(topic, payload, NOW);
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) expect(result.detail.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
