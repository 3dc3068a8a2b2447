/**
 * Line charts as SVG text, small enough to read and to test: one or more panels stacked over a shared
 * x axis (time, usually), with shaded bands (phases) and vertical markers (moments) across all of them.
 * No dependency: a browser, an image viewer or GitHub renders the file as it is.
 */

export interface ChartSeries {
  readonly name: string;
  /** (x, y) in the chart's units, x ascending. */
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartPanel {
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** A horizontal reference line (a target, a budget), labelled. */
  readonly limit?: { readonly y: number; readonly label: string };
}

export interface ChartBand {
  readonly fromX: number;
  readonly toX: number;
  readonly label: string;
}

export interface ChartMarker {
  readonly x: number;
  readonly label: string;
  /** `moment` (a failover, a recovery) draws a solid line; `event` (a detection) a short dashed one. */
  readonly kind?: 'moment' | 'event';
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly panels: readonly ChartPanel[];
  readonly bands?: readonly ChartBand[];
  readonly markers?: readonly ChartMarker[];
  readonly width?: number;
  readonly panelHeight?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const BAND_FILLS = ['#f2f2f2', '#e4ecf7'];
const MARGIN = { left: 70, right: 170, top: 60, bottom: 44, gap: 28 };

/** Text for an SVG element or attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const label = (v: number): string =>
  Math.abs(v) >= 1e6
    ? `${Number((v / 1e6).toPrecision(3))}M`
    : Math.abs(v) >= 1e4
      ? `${Number((v / 1e3).toPrecision(3))}k`
      : String(Number(v.toPrecision(4)));

/** A label cut to what fits in `widthPx` at about 5.5 px per character (the full text is in a title). */
function fit(text: string, widthPx: number): string {
  const chars = Math.max(1, Math.floor(widthPx / 5.5));
  return text.length <= chars ? text : `${text.slice(0, Math.max(0, chars - 1))}…`;
}

const num = (v: number): string => (Math.round(v * 10) / 10).toString();

export function chartSvg(spec: ChartSpec): string {
  const width = spec.width ?? 960;
  const panelHeight = spec.panelHeight ?? 200;
  const plotW = width - MARGIN.left - MARGIN.right;
  const height = MARGIN.top + spec.panels.length * (panelHeight + MARGIN.gap) - MARGIN.gap + MARGIN.bottom;
  const xs = [
    ...spec.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x))),
    ...(spec.bands ?? []).flatMap((b) => [b.fromX, b.toX]),
  ];
  const xMin = xs.length === 0 ? 0 : Math.min(...xs);
  const xMax = xs.length === 0 ? 1 : Math.max(xMin + 1e-9, Math.max(...xs));
  const sx = (x: number): number => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  const plotTop = MARGIN.top;
  const plotBottom = height - MARGIN.bottom;
  const bands = spec.bands ?? [];
  bands.forEach((b, i) => {
    const x0 = sx(b.fromX);
    const w = Math.max(0, sx(b.toX) - x0);
    // Labels alternate between two rows: one may run on until the band after next begins.
    const room = sx(bands[i + 2]?.fromX ?? xMax) - x0 - 6;
    out.push(
      `<g class="band"><title>${escapeXml(b.label)}</title>`,
      `<rect x="${num(x0)}" y="${plotTop}" width="${num(w)}" height="${plotBottom - plotTop}" fill="${BAND_FILLS[i % BAND_FILLS.length] ?? '#f2f2f2'}"/>`,
      `<text x="${num(x0 + 3)}" y="${plotTop - 4 - (i % 2) * 12}" font-size="10" fill="#555">${escapeXml(fit(b.label, room))}</text></g>`,
    );
  });
  const names = new Map<string, string>();
  const colorOf = (name: string): string => {
    const known = names.get(name);
    if (known !== undefined) return known;
    const c = COLORS[names.size % COLORS.length] ?? '#000';
    names.set(name, c);
    return c;
  };
  spec.panels.forEach((panel, pi) => {
    const top = MARGIN.top + pi * (panelHeight + MARGIN.gap);
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
    if (panel.limit !== undefined) ys.push(panel.limit.y);
    const yMin = Math.min(0, ...ys);
    const yMax = ys.length === 0 ? 1 : Math.max(yMin + 1, ...ys) * 1.05;
    const sy = (y: number): number => top + panelHeight - ((y - yMin) / (yMax - yMin)) * panelHeight;
    out.push(`<g class="panel">`);
    out.push(
      `<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    );
    for (const t of niceTicks(yMin, yMax)) {
      const y = num(sy(t));
      out.push(
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`,
      );
    }
    out.push(
      `<text transform="translate(16 ${top + panelHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
    );
    if (panel.limit !== undefined) {
      const y = num(sy(panel.limit.y));
      out.push(
        `<line class="limit" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#000" stroke-dasharray="6 3"/>`,
        `<text x="${MARGIN.left + plotW - 4}" y="${Number(y) + 13}" text-anchor="end">${escapeXml(panel.limit.label)}</text>`,
      );
    }
    panel.series.forEach((s, si) => {
      const color = colorOf(s.name);
      if (s.points.length > 0) {
        const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(sx(x))} ${num(sy(y))}`).join(' ');
        out.push(
          `<path class="series" d="${d}" fill="none" stroke="${color}" stroke-width="1.8"><title>${escapeXml(s.name)}</title></path>`,
        );
      }
      const ly = top + 12 + si * 16;
      out.push(
        `<line x1="${MARGIN.left + plotW + 10}" x2="${MARGIN.left + plotW + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
        `<text x="${MARGIN.left + plotW + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
      );
    });
    out.push(`</g>`);
  });
  for (const t of niceTicks(xMin, xMax, 8)) {
    const x = num(sx(t));
    out.push(
      `<text x="${x}" y="${plotBottom + 16}" text-anchor="middle">${label(t)}</text>`,
      `<line x1="${x}" x2="${x}" y1="${plotBottom}" y2="${plotBottom + 4}" stroke="#999"/>`,
    );
  }
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  // A moment with another right after it puts its label on the left of its line, so both can be read.
  const momentXs = (spec.markers ?? [])
    .filter((m) => m.kind !== 'event')
    .map((m) => sx(m.x))
    .sort((p, q) => p - q);
  const crowded = (x: number): boolean => momentXs.some((o) => o > x && o - x < 14);
  (spec.markers ?? []).forEach((m, i) => {
    const x = num(sx(m.x));
    const event = m.kind === 'event';
    const labelX = Number(x) + (crowded(sx(m.x)) ? -12 : 3);
    out.push(
      `<g class="marker"><title>${escapeXml(m.label)}</title>`,
      `<line x1="${x}" x2="${x}" y1="${plotTop}" y2="${plotBottom}" stroke="${event ? '#9467bd' : '#000'}" stroke-width="${event ? 1 : 1.5}"${event ? ' stroke-dasharray="3 3"' : ''}/>`,
      event
        ? `<text x="${x}" y="${plotBottom - 4 - (i % 4) * 11}" font-size="9" fill="#9467bd" text-anchor="middle">${escapeXml(m.label)}</text></g>`
        : `<text transform="translate(${labelX} ${plotTop + 8}) rotate(90)" font-size="10">${escapeXml(m.label)}</text></g>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
