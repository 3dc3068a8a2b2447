import type { InferenceConfig } from './config';
import { activeAlarms, type InferenceState } from './core/inference';

function memoryMb(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 1e5) / 10;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external) };
}

/** What Inference publishes on its metrics topic: the core's counters, models, calibrations, memory. */
export function metricsOf(
  s: InferenceState,
  config: InferenceConfig,
  lastCallMs: number,
): Record<string, unknown> {
  return {
    ...s.counters,
    lastCallMs,
    assets: s.assets.size,
    activeAlarms: activeAlarms(s),
    models: Object.fromEntries(
      [...s.models].map(([asset, m]) => [asset ?? 'all', { id: m.modelId, version: m.version }]),
    ),
    calibrating: Object.fromEntries(
      [...s.collections].map(([asset, c]) => [
        asset ?? 'all',
        `${c.windows.length}/${config.calibration.windows}`,
      ]),
    ),
    quietUntilCalibrated: s.quiet.size > 0,
    memory: memoryMb(),
  };
}
