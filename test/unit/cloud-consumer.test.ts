import { consumeBatch, type ConsumerDeps } from '../../cloud/consumer/core';
import { MemoryIdempotencyStore } from '../../cloud/consumer/memory-idempotency';
import { packEnvelopes } from '../../shared/src/envelope';
import { isDrError } from '../../shared/src/errors';
import type { DrRecord } from '../../shared/src/record';
import { CollectingSink } from '../support/cloud-consumer';

const THING = 'pump-station-7';
const records = (from: number, n: number): DrRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${THING}:e1:${from + i}`,
    stream: 'pump/pressure',
    lane: 'telemetry' as const,
    deviceId: 'pump-1',
    tsMs: 1_790_000_000_000 + from + i,
    body: { n: from + i, pressureBar: 1.5 },
  }));
const envelope = (rs: DrRecord[], gateway = THING) => packEnvelopes(gateway, rs)[0]!.payload;

function rig(nowMs = 1_000_000) {
  const sink = new CollectingSink();
  const store = new MemoryIdempotencyStore();
  const clock = { now: nowMs };
  const deps: ConsumerDeps = {
    sink,
    deadLetters: sink,
    idempotency: store,
    nowMs: () => clock.now,
    claimLeaseMs: 60_000,
  };
  const source = { thing: THING, region: 'eu-west-1', receivedAtMs: nowMs };
  return { sink, store, clock, deps, source };
}

describe('cloud consumer: decode with the suite decoder, de-duplicate by record id', () => {
  it('stores a batch once; a resend, or an overlapping batch from another region, only adds the new ids', async () => {
    const { sink, deps, source } = rig();
    expect(await consumeBatch(envelope(records(1, 100)), source, deps)).toMatchObject({
      kind: 'stored',
      stored: 100,
      duplicates: 0,
      busy: [],
    });
    expect(await consumeBatch(envelope(records(1, 100)), source, deps)).toMatchObject({
      stored: 0,
      duplicates: 100,
    });
    const other = { ...source, region: 'eu-central-1' };
    expect(await consumeBatch(envelope(records(51, 100)), other, deps)).toMatchObject({
      stored: 50,
      duplicates: 50,
    });
    expect(sink.records.map((r) => r.id)).toEqual(records(1, 150).map((r) => r.id));
  });

  it.each([
    ['not gzip or JSON', Buffer.from('hello'), /not JSON/],
    ['truncated gzip', envelope(records(1, 10)).subarray(0, 40), /not valid gzip/],
    [
      'another gateway on this topic',
      envelope(records(1, 10), 'pump-station-8'),
      /gateway pump-station-8 on the topic of pump-station-7/,
    ],
  ] as const)('keeps %s as a dead letter with the reason, stores nothing', async (_, payload, reason) => {
    const { sink, store, deps, source } = rig();
    const outcome = await consumeBatch(payload, source, deps);
    expect(outcome.kind).toBe('dead-letter');
    expect(sink.deadLetters).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(reason) as string }),
    ]);
    expect(sink.records).toHaveLength(0);
    expect(store.size).toBe(0);
  });

  it('a sink failure gives the claims back and throws retryable; the retry stores everything', async () => {
    const { sink, deps, source } = rig();
    sink.failNext = 1;
    const err = await consumeBatch(envelope(records(1, 20)), source, deps).catch((e: unknown) => e);
    expect(isDrError(err) && err.retryable).toBe(true);
    expect(await consumeBatch(envelope(records(1, 20)), source, deps)).toMatchObject({
      stored: 20,
      duplicates: 0,
    });
    expect(sink.records).toHaveLength(20);
  });

  it('ids another consumer holds are busy (retry later); a claim never completed is taken over after the lease', async () => {
    const { sink, store, clock, deps, source } = rig();
    // A consumer that claimed 1..10 and died before storing them.
    await store.claim(
      records(1, 10).map((r) => r.id),
      clock.now,
      60_000,
    );
    expect(await consumeBatch(envelope(records(1, 20)), source, deps)).toMatchObject({
      stored: 10,
      duplicates: 0,
      busy: records(1, 10).map((r) => r.id),
    });
    clock.now += 60_001;
    expect(await consumeBatch(envelope(records(1, 20)), source, deps)).toMatchObject({
      stored: 10,
      duplicates: 10,
      busy: [],
    });
    expect(new Set(sink.records.map((r) => r.id)).size).toBe(20);
  });
});
