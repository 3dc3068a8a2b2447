import { z } from 'zod';
import { DrError } from './errors';

/**
 * Lanes in drain priority order: alerts (anomaly events, gap markers) before telemetry.
 * The numeric value is the stored priority.
 */
export const LANES = ['alert', 'telemetry'] as const;
export type Lane = (typeof LANES)[number];
export const LANE_PRIORITY: Readonly<Record<Lane, number>> = { alert: 0, telemetry: 1 };

export function laneFromPriority(priority: number): Lane {
  const lane = LANES[priority];
  if (lane === undefined) throw new DrError('RECORD_INVALID', `unknown lane priority ${priority}`);
  return lane;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a producer hands the store; the store assigns the id. */
export interface NewRecord {
  readonly stream: string;
  readonly lane: Lane;
  readonly deviceId: string;
  readonly tsMs: number;
  readonly body: JsonObject;
}

/**
 * A stored record. `id` is `<gatewayId>:<storeEpoch>:<seq>`: unique per gateway (the epoch changes when
 * a store is recreated, so a fresh sequence never repeats an old id) and stable across upstream retries,
 * so consumers in every region can de-duplicate on it.
 */
export interface DrRecord extends NewRecord {
  readonly id: string;
}

export const STREAM_NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;
export const MAX_DEVICE_ID_CHARS = 128;

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, 'a finite number'),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

export const newRecordSchema = z.strictObject({
  stream: z.string().regex(STREAM_NAME, 'a stream name of 1-128 letters, digits, _ . - /'),
  lane: z.enum(LANES),
  deviceId: z.string().min(1).max(MAX_DEVICE_ID_CHARS),
  tsMs: z.number().int().nonnegative(),
  body: z.record(z.string(), jsonValue),
});

export const recordSchema = newRecordSchema.extend({
  id: z.string().min(1).max(256),
});

export function formatRecordId(gatewayId: string, epoch: string, seq: number): string {
  return `${gatewayId}:${epoch}:${seq}`;
}

/** Splits an id into its prefix (`gateway:epoch`) and sequence; null when it is not a record id. */
export function parseRecordId(id: string): { readonly prefix: string; readonly seq: number } | null {
  const cut = id.lastIndexOf(':');
  if (cut <= 0) return null;
  const seqText = id.slice(cut + 1);
  if (!/^[1-9][0-9]{0,15}$/.test(seqText)) return null;
  const seq = Number(seqText);
  return Number.isSafeInteger(seq) ? { prefix: id.slice(0, cut), seq } : null;
}

/** Record codec: one JSON document per record, validated on the way in. */
export const recordCodec = {
  encode(record: DrRecord): string {
    return JSON.stringify({
      id: record.id,
      stream: record.stream,
      lane: record.lane,
      deviceId: record.deviceId,
      tsMs: record.tsMs,
      body: record.body,
    });
  },

  decode(input: unknown): DrRecord {
    let value: unknown = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new DrError('RECORD_INVALID', 'record is not JSON', { cause: err });
      }
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success) {
      throw new DrError(
        'RECORD_INVALID',
        `record does not match the model: ${parsed.error.issues[0]?.message}`,
        {
          details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        },
      );
    }
    return parsed.data;
  },
};
