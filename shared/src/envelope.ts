import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { DrError } from './errors';
import { recordSchema, type DrRecord } from './record';

/**
 * The batch envelope: one upstream MQTT publish carrying many records. A small header (format version,
 * gateway id, batch id, record count, first and last record id, encoding) and the records, as JSON,
 * gzip-compressed when that is smaller. The same code encodes on the gateway and decodes in the cloud.
 */
export const ENVELOPE_VERSION = 1;
/** IoT Core: 128 KB per message. A margin leaves room for the topic and MQTT5 properties. */
export const IOT_CORE_MAX_PAYLOAD_BYTES = 128 * 1024;
export const DEFAULT_MAX_ENVELOPE_BYTES = IOT_CORE_MAX_PAYLOAD_BYTES - 4 * 1024;

export type EnvelopeEncoding = 'json' | 'gzip';

export interface EnvelopeHeader {
  readonly v: number;
  readonly gatewayId: string;
  readonly batchId: string;
  readonly count: number;
  readonly firstId: string;
  readonly lastId: string;
  readonly encoding: EnvelopeEncoding;
}

export interface Envelope {
  readonly header: EnvelopeHeader;
  /** The publish payload. */
  readonly payload: Buffer;
  /** MQTT5 user properties repeating what a consumer needs before decoding. */
  readonly userProperties: readonly { readonly name: string; readonly value: string }[];
  /** Bytes of the JSON before compression. */
  readonly jsonBytes: number;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

const headerSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  gatewayId: z.string().min(1),
  batchId: z.string().min(1),
  count: z.number().int().positive(),
  firstId: z.string().min(1),
  lastId: z.string().min(1),
  encoding: z.enum(['json', 'gzip']),
});

const documentSchema = z.strictObject({ header: headerSchema, records: z.array(recordSchema).min(1) });

/** Cloud consumers account for evicted records with the same rule as the suite (gap-markers.ts). */
export { GapCoverage, GAP_MARKER_STREAM } from './gap-markers';

export function newBatchId(): string {
  return randomBytes(8).toString('hex');
}

function recordJson(r: DrRecord): string {
  return JSON.stringify({
    id: r.id,
    stream: r.stream,
    lane: r.lane,
    deviceId: r.deviceId,
    tsMs: r.tsMs,
    body: r.body,
  });
}

/** Encodes from records already serialised one by one (the packer serialises each record once). */
function encodeSerialised(
  gatewayId: string,
  records: readonly DrRecord[],
  json: readonly string[],
  batchId: string,
): Envelope {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined)
    throw new DrError('RECORD_INVALID', 'an envelope needs at least one record');
  const headerFor = (encoding: EnvelopeEncoding): EnvelopeHeader => ({
    v: ENVELOPE_VERSION,
    gatewayId,
    batchId,
    count: records.length,
    firstId: first.id,
    lastId: last.id,
    encoding,
  });
  const body = json.join(',');
  const document = (encoding: EnvelopeEncoding): Buffer =>
    Buffer.from(`{"header":${JSON.stringify(headerFor(encoding))},"records":[${body}]}`);
  const plain = document('json');
  const gzipped = gzipSync(document('gzip'), { level: 6 });
  const encoding: EnvelopeEncoding = gzipped.length < plain.length ? 'gzip' : 'json';
  return {
    header: headerFor(encoding),
    payload: encoding === 'gzip' ? gzipped : plain,
    userProperties: [
      { name: 'batchId', value: batchId },
      { name: 'encoding', value: encoding },
      { name: 'envelopeVersion', value: String(ENVELOPE_VERSION) },
    ],
    jsonBytes: plain.length,
  };
}

/** Encodes records into one envelope, compressed when that is smaller. */
export function encodeEnvelope(
  gatewayId: string,
  records: readonly DrRecord[],
  batchId: string = newBatchId(),
): Envelope {
  return encodeSerialised(gatewayId, records, records.map(recordJson), batchId);
}

/** Envelopes at least this full stop the search for a larger one. */
const GOOD_FILL = 0.92;
const MAX_GUIDED_ATTEMPTS = 6;

/**
 * Packs records, in order, into as few envelopes as fit under `maxBytes` each: the envelope grows while
 * its encoded size fits, so throughput under IoT Core's byte quota is bound by bytes, not by the number
 * of publishes. Each record is serialised once; the record count of each envelope is guessed from the
 * compression ratio of the previous attempt (usually two or three encodes per envelope), with a
 * bisection between the known bounds as the fallback. A single record too large for an envelope is an
 * error (the store refuses such records).
 */
export function packEnvelopes(
  gatewayId: string,
  records: readonly DrRecord[],
  maxBytes: number = DEFAULT_MAX_ENVELOPE_BYTES,
): Envelope[] {
  const json = records.map(recordJson);
  // prefix[i]: serialised bytes of records [0, i).
  const prefix = new Float64Array(records.length + 1);
  json.forEach((j, i) => (prefix[i + 1] = (prefix[i] ?? 0) + Buffer.byteLength(j) + 1));
  const plainBytes = (from: number, to: number): number => (prefix[to] ?? 0) - (prefix[from] ?? 0);
  /** The largest count from `start` whose serialised size is at most `bytes` (at least 1). */
  const countFor = (start: number, bytes: number): number => {
    let lo = start + 1;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (plainBytes(start, mid) <= bytes) lo = mid;
      else hi = mid - 1;
    }
    return lo - start;
  };
  const out: Envelope[] = [];
  let ratio = 1; // payload bytes per serialised byte, learnt as envelopes are encoded
  let start = 0;
  while (start < records.length) {
    const remaining = records.length - start;
    const encode = (n: number): Envelope =>
      encodeSerialised(
        gatewayId,
        records.slice(start, start + n),
        json.slice(start, start + n),
        newBatchId(),
      );
    let fits = 0; // largest count known to fit
    let tooBig = remaining + 1; // smallest count known not to fit
    let best: Envelope | undefined;
    for (let attempt = 0; fits + 1 < tooBig; attempt++) {
      const guided = attempt < MAX_GUIDED_ATTEMPTS;
      let n = guided ? countFor(start, (maxBytes * 0.97) / ratio) : (fits + tooBig) >> 1;
      n = Math.min(Math.max(n, fits + 1), tooBig - 1);
      const candidate = encode(n);
      ratio = Math.max(0.01, candidate.payload.length / Math.max(1, plainBytes(start, start + n)));
      if (candidate.payload.length <= maxBytes) {
        fits = n;
        best = candidate;
        if (n === remaining || candidate.payload.length >= GOOD_FILL * maxBytes) break;
      } else {
        tooBig = n;
      }
    }
    if (best === undefined) {
      throw new DrError(
        'RECORD_TOO_LARGE',
        `record ${records[start]?.id ?? '?'} does not fit in an envelope of ${maxBytes} bytes`,
      );
    }
    out.push(best);
    start += best.header.count;
  }
  return out;
}

/** Decodes and validates an envelope payload (plain or gzip JSON), for cloud consumers and tests. */
export function decodeEnvelope(payload: Uint8Array): {
  readonly header: EnvelopeHeader;
  readonly records: DrRecord[];
} {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const gzipped = bytes.subarray(0, 2).equals(GZIP_MAGIC);
  let text: string;
  try {
    text = (gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (err) {
    throw new DrError('RECORD_INVALID', 'envelope is not valid gzip', { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DrError('RECORD_INVALID', 'envelope is not JSON', { cause: err });
  }
  const parsed = documentSchema.safeParse(doc);
  if (!parsed.success) {
    throw new DrError(
      'RECORD_INVALID',
      `envelope does not match version ${ENVELOPE_VERSION}: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const { header, records } = parsed.data;
  if (
    header.count !== records.length ||
    records[0]?.id !== header.firstId ||
    records.at(-1)?.id !== header.lastId
  ) {
    throw new DrError('RECORD_INVALID', 'envelope header does not agree with its records');
  }
  if ((header.encoding === 'gzip') !== gzipped) {
    throw new DrError(
      'RECORD_INVALID',
      `envelope header says ${header.encoding}, the payload is ${gzipped ? 'gzip' : 'plain'}`,
    );
  }
  return { header, records };
}
