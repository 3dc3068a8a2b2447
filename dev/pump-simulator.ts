import { DEFAULT_MEASUREMENTS } from '../components/inference/src/config';

/**
 * A seeded simulator of centrifugal pump stations: per pump, eight measurements driven by a slowly
 * wandering load, with correlated noise, as SKAB's test rig reports them. Its dynamics are in seconds of
 * its own clock, so a pump sampled at 10 Hz is the same pump as at 1 Hz, only read more often. Faults can
 * be injected: a closing inlet valve (flow and pressure fall, current and vibration change), bearing wear
 * (vibration and temperature rise) and cavitation (noisy flow and vibration); each develops over
 * `FAULT_RAMP_MS` and lasts for a time given in the simulator's clock. Used for the default model, tests,
 * benchmarks and the demo; the same seed gives the same readings.
 */
/** The shipped model's measurements, in its feature order. */
export const PUMP_MEASUREMENTS: readonly string[] = DEFAULT_MEASUREMENTS;

export type FaultKind = 'valve' | 'bearing' | 'cavitation';

/** A fault develops to its full size over this long. */
export const FAULT_RAMP_MS = 5_000;

export interface PumpReading {
  readonly deviceId: string;
  readonly tsMs: number;
  readonly measurements: Record<string, number>;
  /** The fault active at this reading, if any (ground truth for tests and the demo's report). */
  readonly fault: FaultKind | null;
}

/** A fault to start when the simulator's clock reaches `atMs`. */
export interface PlannedFault {
  readonly deviceId: string;
  readonly kind: FaultKind;
  readonly atMs: number;
  readonly durationMs: number;
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
  fault: { kind: FaultKind; fromMs: number; toMs: number } | null;
}

/**
 * An AR(1) process specified per second (coefficient `perSecond`, innovation `noisePerSecond` at 1 Hz),
 * stepped by `dtS` seconds with the same stationary spread.
 */
function arStep(perSecond: number, noisePerSecond: number, dtS: number): { a: number; noise: number } {
  const a = perSecond ** dtS;
  return { a, noise: noisePerSecond * Math.sqrt((1 - a * a) / (1 - perSecond * perSecond)) };
}

export class PumpSimulator {
  private readonly random: () => number;
  private readonly pumps = new Map<string, PumpState>();
  private readonly plan: PlannedFault[] = [];
  private tick = 0;
  private readonly load: { a: number; noise: number };
  private readonly heat: { a: number; noise: number };

  constructor(
    seed: number,
    readonly deviceIds: readonly string[],
    private readonly startMs: number,
    readonly periodMs = 1_000,
  ) {
    this.random = seededRandom(seed);
    for (const id of deviceIds) this.pumps.set(id, { load: 0, temperature: 70, fault: null });
    this.load = arStep(0.98, 0.2, periodMs / 1_000);
    this.heat = arStep(0.995, 0.05, periodMs / 1_000);
  }

  private gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }

  /** The timestamp of the next reading. */
  get nextTsMs(): number {
    return this.startMs + this.tick * this.periodMs;
  }

  /** Starts a fault on one pump at the next reading, for `durationMs` of the simulator's clock. */
  injectFault(deviceId: string, kind: FaultKind, durationMs: number): { fromMs: number; toMs: number } {
    const pump = this.pumps.get(deviceId);
    if (pump === undefined) throw new Error(`no pump ${deviceId}`);
    const fromMs = this.nextTsMs;
    pump.fault = { kind, fromMs, toMs: fromMs + durationMs };
    return { fromMs, toMs: fromMs + durationMs };
  }

  /** Faults that start by themselves when the simulator's clock reaches them. */
  schedule(faults: readonly PlannedFault[]): void {
    for (const f of faults) if (!this.pumps.has(f.deviceId)) throw new Error(`no pump ${f.deviceId}`);
    this.plan.push(...faults);
    this.plan.sort((a, b) => a.atMs - b.atMs);
  }

  /** The next reading of every pump. */
  next(): PumpReading[] {
    const tsMs = this.nextTsMs;
    this.tick += 1;
    while (this.plan.length > 0 && this.plan[0]!.atMs <= tsMs) {
      const f = this.plan.shift()!;
      this.pumps.get(f.deviceId)!.fault = { kind: f.kind, fromMs: tsMs, toMs: tsMs + f.durationMs };
    }
    return this.deviceIds.map((deviceId) => {
      const p = this.pumps.get(deviceId)!;
      const g = (): number => this.gaussian();
      p.load = this.load.a * p.load + this.load.noise * g();
      p.temperature = 70 + this.heat.a * (p.temperature - 70) + this.heat.noise * g();
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
      let fault = p.fault;
      if (fault !== null && tsMs >= fault.toMs) {
        p.fault = null;
        fault = null;
      }
      if (fault !== null) {
        const ramp = Math.min(1, (tsMs - fault.fromMs + this.periodMs) / FAULT_RAMP_MS);
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
      }
      return { deviceId, tsMs, measurements: m, fault: fault?.kind ?? null };
    });
  }
}
