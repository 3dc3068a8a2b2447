/**
 * One file's run as an SVG (no plotting dependency): the score on a log scale against the threshold, the
 * calibration rows, the labelled anomaly, the alarm, and the component's events, over time. Meant for a
 * person looking for where the detector fails.
 */
export interface PlotInput {
  readonly title: string;
  readonly subtitle: string;
  readonly times: readonly number[];
  readonly scores: readonly (number | null)[];
  readonly threshold: number;
  readonly alarms: readonly boolean[];
  readonly anomalies: readonly boolean[];
  /** Rows before this one calibrated the model. */
  readonly calibrationRows: number;
  readonly events: readonly { readonly atMs: number; readonly state: string }[];
}

const W = 1000;
const H = 340;
const M = { left: 56, right: 16, top: 42, bottom: 78 };
const PLOT_H = H - M.top - M.bottom;
const LOG_MIN = -1;
const LOG_MAX = 3;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (v: number): string => v.toFixed(1);

/** Runs of consecutive true values as [first, last] indices. */
function runs(flags: readonly boolean[], from = 0): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = from; i <= flags.length; i++) {
    const on = i < flags.length && flags[i] === true;
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      out.push([start, i - 1]);
      start = -1;
    }
  }
  return out;
}

export function plotSvg(p: PlotInput): string {
  const t0 = p.times[0] ?? 0;
  const t1 = Math.max(t0 + 1, p.times.at(-1) ?? t0 + 1);
  const x = (t: number): number => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (score: number): number => {
    const l = Math.min(LOG_MAX, Math.max(LOG_MIN, Math.log10(Math.max(score, 1e-6))));
    return M.top + (1 - (l - LOG_MIN) / (LOG_MAX - LOG_MIN)) * PLOT_H;
  };
  const xEnd = (i: number): number => x(p.times[Math.min(i + 1, p.times.length - 1)]!);
  const parts: string[] = [];
  const band = (from: number, to: number, top: number, height: number, fill: string): void => {
    parts.push(
      `<rect x="${n1(x(p.times[from]!))}" y="${n1(top)}" width="${n1(Math.max(1, xEnd(to) - x(p.times[from]!)))}" height="${n1(height)}" fill="${fill}"/>`,
    );
  };
  if (p.calibrationRows > 0)
    band(0, Math.min(p.calibrationRows, p.times.length) - 1, M.top, PLOT_H, '#e6e6e6');
  for (const [a, b] of runs(p.anomalies)) band(a, b, M.top, PLOT_H, '#f6c6c6');
  // Alarm strip below the plot.
  const stripY = M.top + PLOT_H + 8;
  for (const [a, b] of runs(p.alarms)) band(a, b, stripY, 12, '#e67e22');
  for (const [a, b] of runs(p.anomalies)) band(a, b, stripY + 14, 6, '#c0392b');

  // Axes and grid.
  for (let l = LOG_MIN; l <= LOG_MAX; l++) {
    const v = 10 ** l;
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${n1(y(v))}" y2="${n1(y(v))}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${n1(y(v) + 4)}" text-anchor="end">${v >= 1 ? v.toFixed(0) : v}</text>`,
    );
  }
  const minutes = (t1 - t0) / 60_000;
  const tick = minutes > 60 ? 10 : minutes > 20 ? 5 : minutes > 8 ? 2 : 1;
  for (let m = 0; m <= minutes; m += tick) {
    const tx = x(t0 + m * 60_000);
    parts.push(
      `<line x1="${n1(tx)}" x2="${n1(tx)}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#eee"/>`,
      `<text x="${n1(tx)}" y="${H - M.bottom + 40}" text-anchor="middle">${m}</text>`,
    );
  }
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 56}" text-anchor="middle">minutes from the file's first reading</text>`,
    `<text x="14" y="${M.top + PLOT_H / 2}" transform="rotate(-90 14 ${M.top + PLOT_H / 2})" text-anchor="middle">score (log)</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${PLOT_H}" fill="none" stroke="#999"/>`,
  );

  // The score, broken where no window ends.
  let path = '';
  let pen = false;
  p.scores.forEach((s, i) => {
    if (s === null) {
      pen = false;
      return;
    }
    path += `${pen ? 'L' : 'M'}${n1(x(p.times[i]!))} ${n1(y(s))} `;
    pen = true;
  });
  parts.push(`<path d="${path.trim()}" fill="none" stroke="#2c3e50" stroke-width="1"/>`);
  parts.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${n1(y(p.threshold))}" y2="${n1(y(p.threshold))}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
  );
  const marks: Record<string, string> = { onset: '▲', recovery: '▼', adapted: '◆', refused: '✕' };
  for (const e of p.events) {
    const mark = marks[e.state];
    if (mark === undefined || e.atMs < t0 || e.atMs > t1) continue;
    parts.push(
      `<text x="${n1(x(e.atMs))}" y="${M.top - 4}" text-anchor="middle" fill="#8e44ad">${mark}</text>`,
    );
  }

  const legend =
    'grey: calibration · pink: labelled anomaly · dashed: threshold · orange strip: alarm · red strip: label · ▲ onset ▼ recovery ◆ new normal ✕ calibration refused';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="16" font-size="13" font-weight="bold">${esc(p.title)}</text>`,
    `<text x="${M.left}" y="30">${esc(p.subtitle)}</text>`,
    ...parts,
    `<text x="${M.left}" y="${H - 6}" fill="#555">${esc(legend)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
