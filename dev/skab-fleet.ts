import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createMapper } from '../components/ingest/src/core/mapper';
import { mappingSchema } from '../components/ingest/src/config';
import { DEFAULT_MEASUREMENTS } from '../components/inference/src/config';
import type { NewRecord } from '../shared/src/record';
import { seededRandom } from './pump-simulator';
import { SKAB_MEASUREMENTS } from '../eval/skab-data';

/**
 * A fleet of SKAB-like pumps: real readings from SKAB's valve1 runs and its anomaly-free recording
 * (read where they are, never copied), varied per device by a gain and offset per channel and a start
 * row, with each sensor's own resolution kept (a channel recorded with 6 decimals still has at most 6).
 * Readings are built as a device would publish them and mapped by Ingest's own mapper with the recipe's
 * mapping, so the records are exactly those Ingest would store.
 */

/** SKAB's channels, in the order of DEFAULT_MEASUREMENTS (the names Ingest stores them under). */
const SKAB_COLUMNS = SKAB_MEASUREMENTS;

/** `../shared/data/SKAB` beside the project root. */
export const DEFAULT_SKAB_DIR = resolve(__dirname, '..', '..', 'shared', 'data', 'SKAB');

/** The subsets this project may read (the others are kept aside to judge the detector). */
const SUBSETS = ['valve1', 'anomaly-free'];

interface Channel {
  /** Readings as integers at the channel's resolution (value = units / 10^decimals). */
  readonly units: number[];
  readonly decimals: number;
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  return text.length - dot - 1 - (/0+$/.exec(text.slice(dot + 1))?.[0].length ?? 0);
}

/** Every row of the allowed recordings, in file order, as decimal text per channel. */
function readRows(dir: string): string[][] {
  const rows: string[][] = [];
  for (const subset of SUBSETS) {
    const folder = join(dir, subset);
    const files = readdirSync(folder)
      .filter((f) => f.endsWith('.csv'))
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b));
    for (const file of files) {
      const lines = readFileSync(join(folder, file), 'utf8').split(/\r?\n/);
      const header = (lines[0] ?? '').split(';');
      const at = SKAB_COLUMNS.map((c) => header.indexOf(c));
      if (at.some((i) => i < 0)) throw new Error(`${subset}/${file}: not a SKAB recording`);
      for (const line of lines.slice(1)) {
        if (line.trim() === '') continue;
        const cells = line.split(';');
        const row = at.map((i) => cells[i] ?? '');
        if (row.every((c) => Number.isFinite(Number(c)) && c !== '')) rows.push(row);
      }
    }
  }
  return rows;
}

function loadChannels(dir: string): Channel[] {
  if (!existsSync(join(dir, 'valve1')))
    throw new Error(`no SKAB data at ${dir} (expected valve1/ and anomaly-free/ there)`);
  const rows = readRows(dir);
  return SKAB_COLUMNS.map((_, c) => {
    const decimals = Math.max(...rows.map((r) => decimalsOf(r[c] ?? '')));
    const scale = 10 ** decimals;
    return { decimals, units: rows.map((r) => Math.round(Number(r[c]) * scale)) };
  });
}

interface Device {
  readonly id: string;
  readonly startRow: number;
  readonly phaseMs: number;
  readonly gain: number[];
  /** Per channel, in the channel's units. */
  readonly offset: number[];
}

export interface SkabFleetOptions {
  readonly dir?: string;
  readonly devices?: number;
  readonly seed?: number;
  /** The first reading's time; readings follow at periodMs per device. */
  readonly startMs: number;
  readonly periodMs?: number;
}

/** A reading as the device publishes it: topic and JSON payload bytes. */
export interface FleetMessage {
  readonly topic: string;
  readonly payload: Buffer;
}

export class SkabFleet {
  private readonly channels: Channel[];
  private readonly devices: Device[];
  private readonly rows: number;
  private readonly periodMs: number;
  private readonly startMs: number;
  private readonly map = createMapper({
    mapping: mappingSchema.parse({ topicPattern: 'sensors/{deviceId}/{stream}', timestampField: 'ts' }),
    maxPayloadBytes: 16 * 1024,
  });
  private tick = 0;
  private inTick = 0;

  constructor(options: SkabFleetOptions) {
    this.channels = loadChannels(options.dir ?? DEFAULT_SKAB_DIR);
    this.rows = this.channels[0]?.units.length ?? 0;
    this.periodMs = options.periodMs ?? 1_000;
    this.startMs = options.startMs;
    const random = seededRandom(options.seed ?? 1);
    const count = options.devices ?? 200;
    const devices: Device[] = Array.from({ length: count }, (_, d) => ({
      id: `pump-${String(d + 1).padStart(3, '0')}`,
      startRow: Math.floor(random() * this.rows),
      phaseMs: Math.floor(random() * this.periodMs),
      // Another installation of the same pump model: sensors a few per cent apart in gain and offset.
      gain: this.channels.map(() => 0.95 + 0.1 * random()),
      offset: this.channels.map((ch) => {
        const spread = 0.02 * (Math.max(...ch.units.slice(0, 500)) - Math.min(...ch.units.slice(0, 500)));
        return Math.round((random() - 0.5) * spread);
      }),
    }));
    // Within a period devices report in the order of their phase.
    this.devices = devices.sort((a, b) => a.phaseMs - b.phaseMs);
  }

  get deviceCount(): number {
    return this.devices.length;
  }

  /** The next reading of the fleet, in time order: every device once per period. */
  nextMessage(): FleetMessage {
    const device = this.devices[this.inTick] as Device;
    const row = (device.startRow + this.tick) % this.rows;
    const tsMs = this.startMs + this.tick * this.periodMs + device.phaseMs;
    let json = `{"ts":${tsMs}`;
    this.channels.forEach((ch, c) => {
      const units = Math.round((ch.units[row] ?? 0) * (device.gain[c] ?? 1)) + (device.offset[c] ?? 0);
      json += `,"${DEFAULT_MEASUREMENTS[c]}":${units / 10 ** ch.decimals}`;
    });
    json += '}';
    this.inTick += 1;
    if (this.inTick === this.devices.length) {
      this.inTick = 0;
      this.tick += 1;
    }
    return { topic: `sensors/${device.id}/telemetry`, payload: Buffer.from(json) };
  }

  /** The next `count` readings as Ingest's mapper turns them into records. */
  nextRecords(count: number): NewRecord[] {
    const out: NewRecord[] = [];
    for (let i = 0; i < count; i++) {
      const m = this.nextMessage();
      const tsMs = this.startMs + this.tick * this.periodMs;
      const mapped = this.map(m.topic, m.payload, tsMs + this.periodMs);
      if (!mapped.ok) throw new Error(`the mapper refused a fleet reading: ${mapped.detail}`);
      out.push(mapped.record);
    }
    return out;
  }
}
