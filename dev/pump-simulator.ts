import { DEFAULT_MEASUREMENTS } from '../components/inference/src/config';

/**
 * A seeded simulator of centrifugal pump stations: per pump, eight measurements at 1 Hz driven by a
 * slowly wandering load, with correlated noise, as SKAB's test rig reports them. Faults can be injected:
 * a closing inlet valve (flow and pressure fall, current and vibration change), bearing wear (vibration
 * and temperature rise) and cavitation (noisy flow and vibration). Used for the default model, tests,
 * benchmarks and the demo; the same seed gives the same readings.
 */
/** The shipped model's measurements, in its feature order. */
export const PUMP_MEASUREMENTS: readonly string[] = DEFAULT_MEASUREMENTS;

export type FaultKind = 'valve' | 'bearing' | 'cavitation';

export interface PumpReading {
  readonly deviceId: string;
  readonly tsMs: number;
  readonly measurements: Record<string, number>;
  /** The fault active at this reading, if any (ground truth for tests and the demo's report). */
  readonly fault: FaultKind | null;
}

/** mulberry32: a small, fast, seeded generator. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PumpState {
  load: number;
  temperature: number;
  fault: { kind: FaultKind; remaining: number; elapsed: number } | null;
}

export class PumpSimulator {
  private readonly random: () => number;
  private readonly pumps = new Map<string, PumpState>();
  private tick = 0;

  constructor(
    seed: number,
    readonly deviceIds: readonly string[],
    private readonly startMs: number,
    readonly periodMs = 1_000,
  ) {
    this.random = seededRandom(seed);
    for (const id of deviceIds) this.pumps.set(id, { load: 0, temperature: 70, fault: null });
  }

  private gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }

  /** Starts a fault on one pump for `ticks` readings. */
  injectFault(deviceId: string, kind: FaultKind, ticks: number): void {
    const pump = this.pumps.get(deviceId);
    if (pump === undefined) throw new Error(`no pump ${deviceId}`);
    pump.fault = { kind, remaining: ticks, elapsed: 0 };
  }

  /** The next reading of every pump. */
  next(): PumpReading[] {
    const tsMs = this.startMs + this.tick * this.periodMs;
    this.tick += 1;
    return this.deviceIds.map((deviceId) => {
      const p = this.pumps.get(deviceId)!;
      const g = (): number => this.gaussian();
      p.load = 0.98 * p.load + 0.2 * g();
      p.temperature = 70 + 0.995 * (p.temperature - 70) + 0.05 * g();
      const L = p.load;
      const m = {
        accelerometer1RMS: 0.027 + 0.0006 * L + 0.0008 * g(),
        accelerometer2RMS: 0.04 + 0.0005 * L + 0.001 * g(),
        current: 1.3 + 0.03 * L + 0.01 * g(),
        pressure: 0.2 + 0.01 * L + 0.004 * g(),
        temperature: p.temperature + 0.02 * L,
        thermocouple: 25 + 0.1 * g(),
        voltage: 230 + 0.8 * g(),
        volumeFlowRateRMS: 32 + 0.6 * L + 0.15 * g(),
      };
      const fault = p.fault;
      if (fault !== null) {
        const ramp = Math.min(1, (fault.elapsed + 1) / 10); // faults develop over ten seconds
        if (fault.kind === 'valve') {
          m.volumeFlowRateRMS -= 8 * ramp;
          m.pressure -= 0.06 * ramp;
          m.current -= 0.08 * ramp;
          m.accelerometer1RMS += 0.004 * ramp;
        } else if (fault.kind === 'bearing') {
          m.accelerometer1RMS += 0.012 * ramp + 0.003 * Math.abs(g());
          m.accelerometer2RMS += 0.015 * ramp + 0.003 * Math.abs(g());
          m.temperature += 2.5 * ramp;
        } else {
          m.volumeFlowRateRMS += 2.5 * ramp * g();
          m.accelerometer2RMS += 0.01 * ramp * Math.abs(g());
          m.pressure -= 0.03 * ramp * Math.abs(g());
        }
        fault.elapsed += 1;
        fault.remaining -= 1;
        if (fault.remaining <= 0) p.fault = null;
      }
      return { deviceId, tsMs, measurements: m, fault: fault?.kind ?? null };
    });
  }
}
