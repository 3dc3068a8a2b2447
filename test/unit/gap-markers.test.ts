import { GapCoverage, GAP_MARKER_STREAM } from '../../shared/src/gap-markers';

const marker = (streams: Record<string, { fromTsMs: number; toTsMs: number; records: number }>) => ({
  stream: GAP_MARKER_STREAM,
  body: {
    kind: 'gap',
    evictedRecords: Object.values(streams).reduce((n, g) => n + g.records, 0),
    fromTsMs: Math.min(...Object.values(streams).map((g) => g.fromTsMs)),
    toTsMs: Math.max(...Object.values(streams).map((g) => g.toTsMs)),
    streams: Object.fromEntries(
      Object.entries(streams).map(([k, g]) => [k, { lane: k.split(':')[0], ...g }]),
    ),
  },
});

describe('gap coverage: what a gap marker accounts for', () => {
  const coverage = GapCoverage.of([
    marker({
      'telemetry:flow': { fromTsMs: 100, toTsMs: 200, records: 5 },
      'alert:anomaly': { fromTsMs: 900, toTsMs: 950, records: 1 },
    }),
    { stream: 'flow', body: { v: 1 } },
    marker({ 'telemetry:flow': { fromTsMs: 400, toTsMs: 500, records: 2 } }),
  ]);

  it.each([
    ['inside its stream range', { lane: 'telemetry', stream: 'flow', tsMs: 150 }, true],
    ['at the range bounds', { lane: 'telemetry', stream: 'flow', tsMs: 500 }, true],
    ['between two markers of its stream', { lane: 'telemetry', stream: 'flow', tsMs: 300 }, false],
    [
      "in the marker's overall range, another stream",
      { lane: 'telemetry', stream: 'pressure', tsMs: 150 },
      false,
    ],
    ['the same stream in another lane', { lane: 'alert', stream: 'flow', tsMs: 150 }, false],
    ['an alert in its range', { lane: 'alert', stream: 'anomaly', tsMs: 920 }, true],
  ])('a record %s: %s', (_what, subject, covered) => {
    expect(coverage.covers(subject)).toBe(covered);
  });

  it('counts markers and evicted records, ignores other records and malformed markers', () => {
    const c = GapCoverage.of([
      ...[{ stream: GAP_MARKER_STREAM, body: null }],
      { stream: GAP_MARKER_STREAM, body: { streams: 'x' } },
    ]);
    expect(c.covers({ lane: 'telemetry', stream: 'flow', tsMs: 1 })).toBe(false);
    expect(coverage.markers).toBe(2);
    expect(coverage.evictedRecords).toBe(8);
  });
});
