import type { JsonObject, NewRecord } from '../../../../shared/src/record';
import { STREAM_NAME, MAX_DEVICE_ID_CHARS } from '../../../../shared/src/record';
import type { Mapping } from '../config';

export type RejectReason =
  | 'oversize'
  | 'not_json'
  | 'not_object'
  | 'no_device'
  | 'bad_device'
  | 'unknown_device'
  | 'bad_stream'
  | 'bad_timestamp'
  | 'timestamp_out_of_bounds'
  | 'bad_measurements'
  | 'non_finite'
  | 'reserved_key';

export type MapResult =
  | { readonly ok: true; readonly record: NewRecord }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

export interface MapperOptions {
  readonly mapping: Mapping;
  readonly maxPayloadBytes: number;
  readonly allowedDevices?: ReadonlySet<string>;
}

const MAX_STRING_VALUE_CHARS = 1_024;
const NONE: ReadonlySet<string> = new Set();

const MAX_MEASUREMENTS = 256;

function reject(reason: RejectReason, detail: string): MapResult {
  return { ok: false, reason, detail };
}

/** Compiles `sensors/{deviceId}/{stream}` into level names (undefined for unnamed levels). */
export function compileTopicPattern(pattern: string): (topic: string) => Record<string, string> | null {
  const levels = pattern.split('/').map((l) => {
    const m = /^\{(\w+)\}$/.exec(l);
    return m === null ? { literal: l } : { name: m[1] as string };
  });
  return (topic) => {
    const parts = topic.split('/');
    const out: Record<string, string> = {};
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i];
      const part = parts[i];
      if (level === undefined) break;
      if ('name' in level) {
        if (part === undefined || part === '') return null;
        out[level.name] = part;
        continue;
      }
      if (level.literal === '#') return out;
      if (part === undefined || (level.literal !== '+' && level.literal !== part)) return null;
    }
    return parts.length === levels.length ? out : null;
  };
}

function parseTimestamp(value: unknown, unit: Mapping['timestampUnit']): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    // auto: epoch seconds are below 1e11 until the year 5138; milliseconds are above it since 1973.
    const ms = unit === 's' || (unit === 'auto' && Math.abs(value) < 1e11) ? value * 1000 : value;
    return unit === 'iso' ? null : Math.round(ms);
  }
  if (typeof value === 'string' && (unit === 'iso' || unit === 'auto')) {
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return null;
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

/**
 * Maps one message to a record, or says precisely why not. Pure and total: any input, any bytes,
 * yields a result and never throws, so a bad message can never stop the pipeline.
 */
export function createMapper(
  options: MapperOptions,
): (topic: string, payload: unknown, arrivalMs: number) => MapResult {
  const { mapping } = options;
  const matchTopic =
    mapping.topicPattern === undefined ? undefined : compileTopicPattern(mapping.topicPattern);
  // Stream names repeat on every reading: remember the ones already checked (bounded).
  const knownStreams = new Set<string>();
  const validStream = (stream: string): boolean => {
    if (knownStreams.has(stream)) return true;
    if (!STREAM_NAME.test(stream)) return false;
    if (knownStreams.size < 4_096) knownStreams.add(stream);
    return true;
  };
  const reserved = new Set(
    [mapping.deviceIdField, mapping.streamField, mapping.timestampField].filter(
      (f): f is string => f !== undefined,
    ),
  );

  return (topic, payload, arrivalMs) => {
    let doc: unknown = payload;
    if (Buffer.isBuffer(payload)) {
      if (payload.length > options.maxPayloadBytes)
        return reject(
          'oversize',
          `payload of ${payload.length} bytes exceeds maxPayloadBytes ${options.maxPayloadBytes}`,
        );
      try {
        doc = JSON.parse(payload.toString('utf8'));
      } catch (err) {
        return reject('not_json', err instanceof Error ? err.message : 'not JSON');
      }
    } else {
      const size = Buffer.byteLength(JSON.stringify(payload) ?? '');
      if (size > options.maxPayloadBytes)
        return reject(
          'oversize',
          `payload of ${size} bytes exceeds maxPayloadBytes ${options.maxPayloadBytes}`,
        );
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      return reject(
        'not_object',
        `payload is ${Array.isArray(doc) ? 'an array' : typeof doc}, not a JSON object`,
      );
    }
    const body = doc as Record<string, unknown>;
    const fromTopic = matchTopic?.(topic) ?? {};

    const rawDevice = mapping.deviceIdField !== undefined ? body[mapping.deviceIdField] : undefined;
    const deviceId = rawDevice ?? fromTopic['deviceId'];
    if (deviceId === undefined)
      return reject('no_device', `no device id in field ${String(mapping.deviceIdField)} or topic ${topic}`);
    if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > MAX_DEVICE_ID_CHARS)
      return reject('bad_device', `device id must be a string of 1-${MAX_DEVICE_ID_CHARS} characters`);
    if (options.allowedDevices !== undefined && !options.allowedDevices.has(deviceId))
      return reject('unknown_device', `device ${deviceId.slice(0, 64)} is not in allowedDevices`);

    const rawStream = mapping.streamField !== undefined ? body[mapping.streamField] : undefined;
    const stream = rawStream ?? fromTopic['stream'] ?? mapping.defaultStream;
    if (typeof stream !== 'string' || !validStream(stream))
      return reject('bad_stream', 'stream must be 1-128 letters, digits, _ . - /');

    let tsMs = arrivalMs;
    if (mapping.timestampField !== undefined) {
      const raw = body[mapping.timestampField];
      if (raw === undefined)
        return reject('bad_timestamp', `missing timestamp field ${mapping.timestampField}`);
      const parsed = parseTimestamp(raw, mapping.timestampUnit);
      if (parsed === null) return reject('bad_timestamp', `timestamp is not a ${mapping.timestampUnit} time`);
      if (parsed > arrivalMs + mapping.maxFutureSkewMs || parsed < arrivalMs - mapping.maxAgeMs || parsed < 0)
        return reject(
          'timestamp_out_of_bounds',
          `timestamp ${new Date(parsed).toISOString()} is outside the accepted window`,
        );
      tsMs = parsed;
    }

    // One pass over the measurements: every other payload field, or the configured measurements object.
    const source: unknown = mapping.measurementsField === undefined ? body : body[mapping.measurementsField];
    if (typeof source !== 'object' || source === null || Array.isArray(source))
      return reject('bad_measurements', 'measurements must be a JSON object');
    const skip = mapping.measurementsField === undefined ? reserved : NONE;
    const measurements: JsonObject = {};
    let count = 0;
    for (const key in source) {
      if (!Object.prototype.hasOwnProperty.call(source, key) || skip.has(key)) continue;
      // An own field named __proto__ would set the prototype of every JavaScript object it is copied
      // into (here, in Inference and in cloud consumers) instead of becoming data.
      if (key === '__proto__')
        return reject('reserved_key', 'a field named __proto__ cannot be stored as a measurement');
      if (++count > MAX_MEASUREMENTS)
        return reject('bad_measurements', `more than ${MAX_MEASUREMENTS} measurements`);
      const value = (source as Record<string, unknown>)[key];
      if (typeof value === 'number') {
        // JSON.parse turns 1e999 into Infinity: a number, but no reading.
        if (!Number.isFinite(value))
          return reject('non_finite', `measurement ${key.slice(0, 64)} is not finite`);
        measurements[key] = value;
      } else if (typeof value === 'boolean' || value === null) {
        measurements[key] = value;
      } else if (typeof value === 'string' && value.length <= MAX_STRING_VALUE_CHARS) {
        measurements[key] = value;
      } else {
        return reject(
          'bad_measurements',
          `measurement ${key.slice(0, 64)} must be a number, boolean, null or short string`,
        );
      }
    }
    if (count === 0) return reject('bad_measurements', 'no measurements');
    return { ok: true, record: { stream, lane: 'telemetry', deviceId, tsMs, body: measurements } };
  };
}
