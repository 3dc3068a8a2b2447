import type { Browser } from 'playwright-core';
import { demoTimelineSvg, type TimelineReport } from '../../dev/demo-timeline';
import { chartSvg, escapeXml, niceTicks } from '../../dev/svg-chart';
import { chromiumUnavailable, launchChromium } from '../support/browser';

const T0 = 1_800_000_000_000;
const at = (s: number): number => T0 + s * 1_000;

/** A short demo's report: three phases, a failover, a recovery, one fault detected, one false alarm. */
const REPORT: TimelineReport = {
  startMs: T0,
  phases: [
    { phase: 'normal operation', atMs: at(0) },
    { phase: 'region A black-holed (SIGSTOP)', atMs: at(20) },
    { phase: 'recovery: region B back & <live> first', atMs: at(45) },
  ],
  moments: { 'region A stopped': at(20), 'failover to B': at(23.5), 'fail-back to A': null },
  timeline: {
    samples: Array.from({ length: 61 }, (_, i) => ({
      atMs: at(i),
      produced: i * 200,
      stored: Math.max(0, i * 200 - 50),
      backlogAlert: i > 20 && i < 45 ? 3 : 0,
      backlogTelemetry: i > 20 && i < 45 ? (i - 20) * 200 : 0,
      deliveredA: Math.min(i, 20) * 200,
      deliveredB: i > 23 ? (i - 23) * 200 : 0,
    })),
  },
  detection: {
    faults: [
      { deviceId: 'pump-03', kind: 'bearing', fromMs: at(30), delayMs: 2_400 },
      { deviceId: 'pump-07', kind: 'valve', fromMs: at(35), delayMs: null },
    ],
    falseAlarms: [{ asset: 'pump-11', atMs: at(50) }],
  },
};

describe('SVG charts: pieces', () => {
  it('escapes text for elements and attributes', () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  });

  it.each<[number, number, number[]]>([
    [0, 60, [0, 20, 40, 60]],
    [0, 234, [0, 50, 100, 150, 200]],
    [0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [5, 5, [5]],
  ])('round ticks over [%d, %d]', (min, max, ticks) => {
    expect(niceTicks(min, max)).toEqual(ticks);
  });

  it('a chart with no points still makes an SVG document', () => {
    const svg = chartSvg({ title: 'empty', xLabel: 's', panels: [{ yLabel: 'MB', series: [] }] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

const unavailable = chromiumUnavailable();
if (unavailable !== undefined) console.warn(`SVG parse tests skipped: ${unavailable}`);

/** What an XML parser finds in the document: a parse error, or its bands, moments and series. */
interface Parsed {
  readonly error: string | null;
  readonly root: string;
  readonly bands: string[];
  readonly markers: string[];
  readonly series: string[];
  readonly panels: number;
  /** Where each marker's line is, as a share of the plot's width. */
  readonly markerX: Record<string, number>;
}

/** Runs in the page (as text: the project compiles without the DOM's types). */
const PARSE = `(text) => {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const error = doc.querySelector('parsererror');
  const titles = (selector) => [...doc.querySelectorAll(selector + ' > title')].map((t) => t.textContent);
  const frame = doc.querySelector('g.panel > rect');
  const markerX = {};
  for (const g of doc.querySelectorAll('g.marker'))
    markerX[g.querySelector('title').textContent] =
      (Number(g.querySelector('line').getAttribute('x1')) - Number(frame.getAttribute('x'))) /
      Number(frame.getAttribute('width'));
  return {
    error: error === null ? null : error.textContent,
    root: doc.documentElement.namespaceURI + ' ' + doc.documentElement.localName,
    bands: titles('g.band'),
    markers: titles('g.marker'),
    series: titles('path.series'),
    panels: doc.querySelectorAll('g.panel').length,
    markerX,
  };
}`;

(unavailable === undefined ? describe : describe.skip)(
  'the demo timeline, read by a browser’s XML parser',
  () => {
    jest.setTimeout(120_000);
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    const parse = async (svg: string): Promise<Parsed> => {
      const page = await browser!.newPage();
      try {
        return await page.evaluate<Parsed>(`(${PARSE})(${JSON.stringify(svg)})`);
      } finally {
        await page.close();
      }
    };

    it('is a well-formed SVG document with every phase, every moment that happened and every detection', async () => {
      const parsed = await parse(demoTimelineSvg(REPORT));
      expect(parsed.error).toBeNull();
      expect(parsed.root).toBe('http://www.w3.org/2000/svg svg');
      expect(parsed.bands).toEqual(REPORT.phases.map((p) => p.phase));
      expect(parsed.markers).toEqual([
        'region A stopped',
        'failover to B',
        'pump-03 bearing detected',
        'false alarm pump-11',
      ]);
      expect(parsed.panels).toBe(3);
      expect(parsed.series).toEqual([
        'produced',
        'stored by Ingest',
        'backlog: telemetry',
        'backlog: alert',
        'region A',
        'region B',
      ]);
    });

    it('draws a moment where it happened: the failover 23.5 s into a 60 s run', async () => {
      const parsed = await parse(demoTimelineSvg(REPORT));
      expect(parsed.markerX['failover to B']).toBeCloseTo(23.5 / 60, 2);
    });
  },
);
