import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import type { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import type { PumpReading, PumpSimulator } from './pump-simulator';

/** The demo's default load: 20 pumps at 10 Hz, 200 readings/s. */
export const DEMO_PUMPS = 20;
export const DEMO_HZ = 10;

/** `pump-01` … `pump-NN`. */
export function pumpIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `pump-${String(i + 1).padStart(2, '0')}`);
}

/**
 * The components' configuration in the demo (and in whatever measures the demo's load), over the
 * recipes' defaults. `scale` stretches the fail-back hold with the demo's phases.
 */
export function demoOverrides(scale: number): Record<string, JsonTree> {
  return {
    // Readings older than 10 s are backlog, so the demo's short outage shows live data going first.
    'com.edgedr.Buffer': {
      metricsIntervalMs: 1_000,
      maintenanceIntervalMs: 1_000,
      store: { liveWindowMs: 10_000 },
    },
    'com.edgedr.Ingest': { metricsIntervalMs: 1_000 },
    'com.edgedr.Inference': { calibration: { onStart: false }, metricsIntervalMs: 2_000 },
    'com.edgedr.Replay': {
      health: { probeIntervalMs: 1_000, failbackHoldMs: Math.round(10_000 * Math.min(scale, 3)) },
      connection: { minReconnectDelayMs: 500, maxReconnectDelayMs: 2_000 },
      statusIntervalMs: 1_000,
    },
  };
}

/**
 * Publishes the simulator's readings on the sensors' local topics at `hz` by the wall clock: each tick
 * emits every reading that is due, so a late timer (a busy or slow machine) catches up instead of letting
 * the readings' clock fall behind. `onReading` sees each one before it is published.
 */
export function startPumpLoad(
  host: LocalIpcHost,
  sim: PumpSimulator,
  hz: number,
  onReading: (r: PumpReading) => void = () => undefined,
): { stop(): void } {
  const periodMs = 1_000 / hz;
  const startedAt = Date.now();
  let emitted = 0;
  const timer = setInterval(() => {
    const due = Math.floor((Date.now() - startedAt) / periodMs) + 1;
    for (; emitted < due; emitted++)
      for (const r of sim.next()) {
        onReading(r);
        host.publish(`sensors/${r.deviceId}/telemetry`, {
          kind: 'json',
          message: { ts: r.tsMs, ...r.measurements },
        });
      }
  }, periodMs);
  return { stop: () => clearInterval(timer) };
}
