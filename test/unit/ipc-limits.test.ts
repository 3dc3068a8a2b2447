import {
  binaryMessageProblem,
  IPC_MAX_FRAME_BYTES,
  jsonMessageProblem,
  maxBinaryMessageBytes,
  subscriberArenaBytes,
} from '../../shared/src/messages/ipc-limits';
import { encodeLiveBatch, decodeLiveBatch } from '../../shared/src/messages/live-batch';
import type { DrRecord } from '../../shared/src/record';

const flat = (n: number): Record<string, number> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe("nucleus lite's message limits", () => {
  it('counts the subscriber arena as nucleus lite fills it: 21 bytes a pair, 11 a list item, a 3-pair wrapper', () => {
    expect(subscriberArenaBytes(5)).toBe(63);
    expect(subscriberArenaBytes(flat(2))).toBe(63 + 42);
    expect(subscriberArenaBytes({ a: [1, 2, { b: 1 }] })).toBe(63 + 21 + 33 + 21);
  });

  it('takes a flat object of 23 keys and refuses 24 (observed: 22 delivered, 24 dropped)', () => {
    expect(jsonMessageProblem('t', flat(22))).toBeUndefined();
    expect(jsonMessageProblem('t', flat(23))).toBeUndefined();
    expect(jsonMessageProblem('t', flat(24))).toMatch(/decodes into 567 bytes of objects/);
  });

  it('refuses deep nesting and frames over 10,000 bytes', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 13; i++) deep = [deep];
    expect(jsonMessageProblem('t', deep)).toMatch(/nests 13 levels deep/);
    expect(jsonMessageProblem('t', { s: 'x'.repeat(9_600) })).toMatch(/IPC frame may take \d+ bytes/);
    // Numbers are counted at the length a nucleus may re-encode them to.
    expect(jsonMessageProblem('t', { n: Array.from({ length: 2 }, () => 0.1) })).toBeUndefined();
  });

  it('sizes binary messages so that their base64 frame stays under the limit', () => {
    const max = maxBinaryMessageBytes('edgedr/ingest/live');
    expect(max).toBeGreaterThan(6_500);
    expect(max).toBeLessThan(IPC_MAX_FRAME_BYTES * 0.75);
    expect(binaryMessageProblem('edgedr/ingest/live', max)).toBeUndefined();
    expect(binaryMessageProblem('edgedr/ingest/live', max + 3)).toMatch(/would take/);
  });

  it('splits a commit into live-batch messages that each fit, with every record exactly once', () => {
    let x = 7;
    const noisy = (): number => {
      x = (x * 48271) % 2147483647;
      return Math.round((x / 2147483647) * 1e6) / 1e4;
    };
    const records: DrRecord[] = Array.from({ length: 500 }, (_, i) => ({
      id: `gw:e:${i + 1}`,
      stream: 'telemetry',
      lane: 'telemetry',
      deviceId: `pump-${i % 20}`,
      tsMs: 1_700_000_000_000 + i * 50,
      body: {
        a: noisy(),
        b: noisy(),
        c: noisy(),
        d: noisy(),
        e: noisy(),
        f: noisy(),
        g: noisy(),
        h: noisy(),
      },
    }));
    const messages = encodeLiveBatch('edgedr/ingest/live', 'gw', records);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(binaryMessageProblem('edgedr/ingest/live', m.length)).toBeUndefined();
    expect(messages.flatMap((m) => decodeLiveBatch(m))).toEqual(records);
  });
});
