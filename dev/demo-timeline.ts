import { chartSvg, type ChartMarker } from './svg-chart';

/** One second of the demo, as the cloud and the local topics saw it. */
export interface TimelineSample {
  readonly atMs: number;
  readonly produced: number;
  readonly stored: number;
  readonly backlogAlert: number;
  readonly backlogTelemetry: number;
  /** Telemetry records received by each region so far (a duplicate counts in each region it reached). */
  readonly deliveredA: number;
  readonly deliveredB: number;
}

/** What of the demo's report the timeline draws. */
export interface TimelineReport {
  readonly startMs: number;
  readonly phases: readonly { readonly phase: string; readonly atMs: number }[];
  readonly timeline: { readonly samples: readonly TimelineSample[] };
  /** Named moments (epoch ms), null when one did not happen (no failover within its timeout). */
  readonly moments: Readonly<Record<string, number | null>>;
  readonly detection: {
    readonly faults: readonly {
      readonly deviceId: string;
      readonly kind: string;
      readonly fromMs: number;
      readonly delayMs: number | null;
    }[];
    readonly falseAlarms: readonly { readonly asset: string; readonly atMs: number }[];
  };
}

/**
 * The demo as a picture: readings produced and stored, the backlog per lane, and what each region
 * received, over seconds since the start; the phases shaded, the failover, recovery and fail-back
 * moments as lines, and each detection (and false alarm) where it happened.
 */
export function demoTimelineSvg(
  r: TimelineReport,
  title = 'Edge DR demo: a disaster, second by second',
): string {
  const s = (atMs: number): number => Math.round((atMs - r.startMs) / 100) / 10;
  const samples = r.timeline.samples;
  const endMs = Math.max(samples.at(-1)?.atMs ?? r.startMs, r.phases.at(-1)?.atMs ?? r.startMs);
  const series = (name: string, value: (x: TimelineSample) => number) => ({
    name,
    points: samples.map((x) => [s(x.atMs), value(x)] as const),
  });
  const markers: ChartMarker[] = [
    ...Object.entries(r.moments)
      .filter((e): e is [string, number] => e[1] !== null)
      .map(([label, atMs]) => ({ x: s(atMs), label, kind: 'moment' as const })),
    ...r.detection.faults
      .filter((f) => f.delayMs !== null)
      .map((f) => ({
        x: s(f.fromMs + (f.delayMs ?? 0)),
        label: `${f.deviceId} ${f.kind} detected`,
        kind: 'event' as const,
      })),
    ...r.detection.falseAlarms.map((a) => ({
      x: s(a.atMs),
      label: `false alarm ${a.asset}`,
      kind: 'event' as const,
    })),
  ];
  return chartSvg({
    title,
    xLabel: 'seconds since the start',
    bands: r.phases.map((p, i) => ({
      fromX: s(p.atMs),
      toX: s(r.phases[i + 1]?.atMs ?? endMs),
      label: p.phase,
    })),
    markers,
    panels: [
      {
        yLabel: 'readings',
        series: [series('produced', (x) => x.produced), series('stored by Ingest', (x) => x.stored)],
      },
      {
        yLabel: 'backlog (records)',
        series: [
          series('backlog: telemetry', (x) => x.backlogTelemetry),
          series('backlog: alert', (x) => x.backlogAlert),
        ],
      },
      {
        yLabel: 'delivered (records)',
        series: [series('region A', (x) => x.deliveredA), series('region B', (x) => x.deliveredB)],
      },
    ],
  });
}
