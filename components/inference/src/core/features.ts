/**
 * Feature vectors from a window of readings: for each configured measurement, the window's mean and its
 * standard deviation. Means follow level shifts (flow, pressure, current); standard deviations follow
 * changes in vibration and noise that leave the level alone.
 */
export function featureNames(measurements: readonly string[]): string[] {
  return [...measurements.map((m) => `${m}.mean`), ...measurements.map((m) => `${m}.std`)];
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

/** Features of every window of `size` consecutive rows, one window every `step` rows (as the component builds them). */
export function slidingWindowFeatures(
  rows: readonly (readonly number[])[],
  size: number,
  step = 1,
): number[][] {
  const out: number[][] = [];
  for (let end = size - 1; end < rows.length; end += step)
    out.push(windowFeatures(rows.slice(end - size + 1, end + 1)));
  return out;
}
