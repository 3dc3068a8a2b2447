/**
 * Feature vectors from a window of readings: for each configured measurement, the window's mean and its
 * standard deviation. Means follow level shifts (flow, pressure, current); standard deviations follow
 * changes in vibration and noise that leave the level alone. A detrended measurement (a slow thermal
 * channel fed as its deviation from its own trailing mean) is named `<measurement>.detrended`.
 */
export function featureNames(measurements: readonly string[], detrended: readonly string[] = []): string[] {
  const base = measurements.map((m) => (detrended.includes(m) ? `${m}.detrended` : m));
  return [...base.map((b) => `${b}.mean`), ...base.map((b) => `${b}.std`)];
}

/** `window` holds rows of measurement values, oldest first. */
export function windowFeatures(window: readonly (readonly number[])[]): number[] {
  const m = window[0]?.length ?? 0;
  const n = window.length;
  const mean = new Array<number>(m).fill(0);
  for (const row of window) for (let j = 0; j < m; j++) mean[j]! += row[j]! / n;
  const std = new Array<number>(m).fill(0);
  if (n > 1) {
    for (const row of window) for (let j = 0; j < m; j++) std[j]! += (row[j]! - mean[j]!) ** 2;
    for (let j = 0; j < m; j++) std[j] = Math.sqrt(std[j]! / (n - 1));
  }
  return [...mean, ...std];
}
