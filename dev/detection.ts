import { seededRandom, type FaultKind, type PlannedFault, type PumpReading } from './pump-simulator';

/**
 * How the demo counts detections, in the readings' own time (never the wall clock, which a slow machine
 * lets drift away from the readings):
 * - a fault's window runs from its first faulty reading to its last, plus `graceMs` (the detector decides
 *   on a window of readings and a persistence filter, so it may speak shortly after the last one);
 * - a fault is detected when an onset for that asset falls inside its window; its delay is the first such
 *   onset's time minus the fault's first reading;
 * - a false alarm is an onset outside every fault window of that asset;
 * - false alarms per asset-hour divide by the hours of readings of every asset.
 */
export const COUNTING_RULE =
  "a fault is detected when an onset for its asset falls between its first faulty reading and its last plus the detector's lag (delay: from the first faulty reading); a false alarm is an onset outside every fault window of its asset; times are the readings' own";

export interface FaultWindow {
  readonly deviceId: string;
  readonly kind: FaultKind;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface Onset {
  readonly asset: string;
  readonly atMs: number;
}

export interface DetectionReport {
  readonly rule: string;
  readonly graceMs: number;
  readonly injected: number;
  readonly detected: number;
  readonly faults: readonly (FaultWindow & { readonly delayMs: number | null })[];
  readonly falseAlarms: readonly Onset[];
  readonly assetHours: number;
  readonly falseAlarmsPerAssetHour: number;
}

/** Fault windows from the readings themselves: each run of faulty readings of one pump. */
export class FaultLog {
  private readonly open = new Map<string, { kind: FaultKind; fromMs: number; lastMs: number }>();
  private readonly closed: FaultWindow[] = [];
  private firstMs: number | null = null;
  private lastMs: number | null = null;
  private readonly devices = new Set<string>();

  observe(r: PumpReading): void {
    this.firstMs ??= r.tsMs;
    this.lastMs = r.tsMs;
    this.devices.add(r.deviceId);
    const o = this.open.get(r.deviceId);
    if (o !== undefined && (r.fault === null || r.fault !== o.kind)) {
      this.closed.push({ deviceId: r.deviceId, kind: o.kind, fromMs: o.fromMs, toMs: o.lastMs });
      this.open.delete(r.deviceId);
    }
    if (r.fault !== null) {
      const still = this.open.get(r.deviceId);
      if (still === undefined) this.open.set(r.deviceId, { kind: r.fault, fromMs: r.tsMs, lastMs: r.tsMs });
      else still.lastMs = r.tsMs;
    }
  }

  windows(): FaultWindow[] {
    const open = [...this.open].map(([deviceId, o]) => ({
      deviceId,
      kind: o.kind,
      fromMs: o.fromMs,
      toMs: o.lastMs,
    }));
    return [...this.closed, ...open].sort((a, b) => a.fromMs - b.fromMs);
  }

  /** Hours of readings, summed over the assets. */
  assetHours(): number {
    if (this.firstMs === null || this.lastMs === null) return 0;
    return (this.devices.size * (this.lastMs - this.firstMs)) / 3_600_000;
  }
}

export function accountDetections(
  faults: readonly FaultWindow[],
  onsets: readonly Onset[],
  graceMs: number,
  assetHours: number,
): DetectionReport {
  const inside = (o: Onset, f: FaultWindow): boolean =>
    o.asset === f.deviceId && o.atMs >= f.fromMs && o.atMs <= f.toMs + graceMs;
  const sorted = [...onsets].sort((a, b) => a.atMs - b.atMs);
  const withDelay = faults.map((f) => {
    const first = sorted.find((o) => inside(o, f));
    return { ...f, delayMs: first === undefined ? null : first.atMs - f.fromMs };
  });
  const falseAlarms = sorted.filter((o) => !faults.some((f) => inside(o, f)));
  return {
    rule: COUNTING_RULE,
    graceMs,
    injected: faults.length,
    detected: withDelay.filter((f) => f.delayMs !== null).length,
    faults: withDelay,
    falseAlarms,
    assetHours,
    falseAlarmsPerAssetHour: assetHours > 0 ? falseAlarms.length / assetHours : 0,
  };
}

/** Fault starts at scale 1, seconds after the first reading: two per phase of region trouble, more while both are down. */
const PLAN_OFFSETS_S = [5, 15, 30, 40, 49, 57, 65, 73, 85];
const KINDS: readonly FaultKind[] = ['valve', 'bearing', 'cavitation'];

/**
 * The demo's faults, fixed by the seed in the simulator's own time: when each starts (scaled with the
 * scenario), on which pump (a different pump each time, so faults never overlap on one pump) and of which
 * kind. Where the readings are is the seed's business alone, whatever the machine's speed.
 */
export function faultPlan(
  seed: number,
  pumps: readonly string[],
  startMs: number,
  scale: number,
  durationMs: number,
): PlannedFault[] {
  const random = seededRandom(seed * 7919);
  const free = [...pumps];
  return PLAN_OFFSETS_S.map((s) => {
    if (free.length === 0) free.push(...pumps);
    const deviceId = free.splice(Math.floor(random() * free.length), 1)[0]!;
    const kind = KINDS[Math.floor(random() * KINDS.length)]!;
    return { deviceId, kind, atMs: startMs + Math.round(s * scale * 1_000), durationMs };
  });
}
