import {
  addSend,
  EMPTY_LEDGER,
  markReleased,
  pendingOn,
  settle,
  unsettledOnlyOn,
  type Ledger,
  type Send,
} from '../../components/replay/src/core/flights';
import { addSample, lateAfterMs, NO_SAMPLES } from '../../components/replay/src/core/latency';

const batch = { batchId: 'e1', unitId: 'u1', records: 2, plainBytes: 2_000, payloadBytes: 200 };

/** A ledger holding e1 with one send per (link, kind) given, at times 0, 1, ... */
function ledger(sends: readonly [link: string, kind: Send['kind']][]): Ledger {
  return sends.reduce(
    (l, [link, kind], i) => addSend(l, batch, link, link.split('/')[0] ?? link, kind, i).ledger,
    EMPTY_LEDGER,
  );
}

describe('flight ledger', () => {
  it.each<[string, [string, Send['kind']][], [number, boolean][], (string | null)[], boolean]>([
    ['a PUBACK deletes', [['a', 'first']], [[1, true]], ['delivered'], true],
    ['a refusal releases', [['a', 'first']], [[1, false]], ['release'], true],
    [
      'a failure waits for the hedge',
      [
        ['a', 'first'],
        ['b', 'hedge'],
      ],
      [[1, false]],
      ['none'],
      false,
    ],
    [
      'then the hedge delivers',
      [
        ['a', 'first'],
        ['b', 'hedge'],
      ],
      [
        [1, false],
        [2, true],
      ],
      ['none', 'delivered'],
      true,
    ],
    [
      'both fail: released once',
      [
        ['a', 'first'],
        ['b', 'hedge'],
      ],
      [
        [1, false],
        [2, false],
      ],
      ['none', 'release'],
      true,
    ],
    [
      'both deliver: the second is a duplicate',
      [
        ['a', 'first'],
        ['b', 'hedge'],
      ],
      [
        [2, true],
        [1, true],
      ],
      ['delivered', 'duplicate'],
      true,
    ],
    ['an unknown send settles nothing', [['a', 'first']], [[7, true]], [null], false],
  ])('%s', (_, sends, outcomes, verdicts, closed) => {
    let l = ledger(sends);
    const seen: (string | null)[] = [];
    let last = false;
    for (const [id, ok] of outcomes) {
      const s = settle(l, id, ok);
      l = s.ledger;
      seen.push(s.verdict?.kind ?? null);
      last = s.closed;
    }
    expect(seen).toEqual(verdicts);
    expect(last).toBe(closed);
    if (closed) expect(l.flights.size).toBe(0);
  });

  it('a PUBACK after the envelope was given back to the store still deletes its records', () => {
    const l = markReleased(ledger([['a', 'first']]), 'e1');
    expect(settle(l, 1, true).verdict).toMatchObject({ kind: 'delivered', afterRelease: true });
    expect(settle(l, 1, false).verdict).toMatchObject({ kind: 'none' }); // released once only
  });

  it('counts sends per link until their own outcome, even once another send settled the envelope', () => {
    let l = ledger([
      ['a', 'first'],
      ['b', 'hedge'],
    ]);
    l = settle(l, 2, true).ledger;
    expect(pendingOn(l, 'a')).toBe(1);
    expect(pendingOn(l, 'b')).toBe(0);
    expect(unsettledOnlyOn(l, 'a')).toEqual([]); // acknowledged by b: nothing to rescue
  });

  it('names the envelopes whose only pending sends go to a region', () => {
    const l = ledger([['a/drain-1', 'first']]);
    expect(unsettledOnlyOn(l, 'a').map((f) => f.batchId)).toEqual(['e1']);
    expect(unsettledOnlyOn(l, 'b')).toEqual([]);
  });
});

describe('PUBACK lateness', () => {
  const policy = { minDelayMs: 200, maxDelayMs: 2_000 };
  const after = (samples: number[]) => samples.reduce(addSample, NO_SAMPLES);

  const steady = (ms: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => ms + (i % 2 ? 5 : -5));

  it.each<[string, number[], number, number]>([
    ['too few samples: the longest delay', [10, 10, 10], 2_000, 2_000],
    ['a fast link: the shortest', steady(10, 8), 200, 200],
    ['a link busy under flow control: its own pace, plus room', steady(250, 30), 260, 300],
    ['a slow and erratic link: capped', [100, 3_000, 200, 2_500, 150], 2_000, 2_000],
  ])('%s', (_, samples, atLeast, atMost) => {
    const late = lateAfterMs(after(samples), policy);
    expect(late).toBeGreaterThanOrEqual(atLeast);
    expect(late).toBeLessThanOrEqual(atMost);
  });
});
