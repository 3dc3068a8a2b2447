import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { decodeColumnHeads, decodeColumns, encodeColumns, type RecordHead } from './codec/columnar';
import { MAX_BODY_DEPTH, recordProblem } from './codec/json-value';
import { DrError } from './errors';
import type { DrRecord } from './record';

/**
 * The batch envelope: one upstream MQTT publish carrying many records, with a small header (format
 * version, gateway id, batch id, record count, first and last record id, encoding). Two versions, and
 * the same code encodes on the gateway and decodes in the cloud:
 * - v1: `{ header, records }` as JSON, gzip-compressed when that is smaller;
 * - v2: `EDR\x02`, a 2-byte length, the header as JSON, then the records in the columnar encoding
 *   (codec/columnar.ts), gzip-compressed. The store's compacted blocks are v2 envelopes, so a block
 *   is sent as it is stored.
 */
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_VERSION_COLUMNAR = 2;
export type EnvelopeVersion = typeof ENVELOPE_VERSION | typeof ENVELOPE_VERSION_COLUMNAR;
/** IoT Core: 128 KB per message. A margin leaves room for the topic and MQTT5 properties. */
export const IOT_CORE_MAX_PAYLOAD_BYTES = 128 * 1024;
export const DEFAULT_MAX_ENVELOPE_BYTES = IOT_CORE_MAX_PAYLOAD_BYTES - 4 * 1024;

export type EnvelopeEncoding = 'json' | 'gzip' | 'columnar-gzip';

export interface EnvelopeHeader {
  readonly v: number;
  readonly gatewayId: string;
  readonly batchId: string;
  readonly count: number;
  readonly firstId: string;
  readonly lastId: string;
  readonly encoding: EnvelopeEncoding;
  /** v2: bytes of the columnar body once inflated (the decoder refuses more). */
  readonly inflatedBytes?: number;
}

export interface Envelope {
  readonly header: EnvelopeHeader;
  /** The publish payload. */
  readonly payload: Buffer;
  /** MQTT5 user properties repeating what a consumer needs before decoding. */
  readonly userProperties: readonly { readonly name: string; readonly value: string }[];
  /** Bytes before compression: the JSON document (v1) or the columnar body (v2). */
  readonly jsonBytes: number;
}

export interface DecodeOptions {
  /** A payload that inflates past this is refused (RECORD_INVALID) before it can use more memory. */
  readonly maxInflatedBytes?: number;
  /** At most this many records per envelope. */
  readonly maxRecords?: number;
  /** Bodies nested deeper are refused. */
  readonly maxDepth?: number;
}

/** A v1 envelope of the largest IoT Core payload inflates to about 2 MB on repetitive telemetry. */
export const DEFAULT_MAX_INFLATED_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_RECORDS_PER_ENVELOPE = 200_000;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** `EDR` and the version byte: never the start of JSON (`{`) or gzip (0x1f 0x8b). */
const V2_MAGIC = Buffer.from([0x45, 0x44, 0x52, ENVELOPE_VERSION_COLUMNAR]);
const V2_PREFIX_BYTES = V2_MAGIC.length + 2;

const headerFields = {
  gatewayId: z.string().min(1),
  batchId: z.string().min(1),
  count: z.number().int().positive(),
  firstId: z.string().min(1),
  lastId: z.string().min(1),
};
const headerSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  ...headerFields,
  encoding: z.enum(['json', 'gzip']),
});
const headerV2Schema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION_COLUMNAR),
  ...headerFields,
  encoding: z.literal('columnar-gzip'),
  inflatedBytes: z.number().int().positive(),
});

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

function bounds(records: readonly DrRecord[]): { firstId: string; lastId: string } {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined)
    throw new DrError('RECORD_INVALID', 'an envelope needs at least one record');
  return { firstId: first.id, lastId: last.id };
}

function userProperties(
  header: EnvelopeHeader,
): readonly { readonly name: string; readonly value: string }[] {
  return [
    { name: 'batchId', value: header.batchId },
    { name: 'encoding', value: header.encoding },
    { name: 'envelopeVersion', value: String(header.v) },
  ];
}

/** Encodes from records already serialised one by one (the packer serialises each record once). */
function encodeSerialised(
  gatewayId: string,
  records: readonly DrRecord[],
  json: readonly string[],
  batchId: string,
): Envelope {
  const { firstId, lastId } = bounds(records);
  const headerFor = (encoding: EnvelopeEncoding): EnvelopeHeader => ({
    v: ENVELOPE_VERSION,
    gatewayId,
    batchId,
    count: records.length,
    firstId,
    lastId,
    encoding,
  });
  const body = json.join(',');
  const document = (encoding: EnvelopeEncoding): Buffer =>
    Buffer.from(`{"header":${JSON.stringify(headerFor(encoding))},"records":[${body}]}`);
  const plain = document('json');
  const gzipped = gzipSync(document('gzip'), { level: 6 });
  const encoding: EnvelopeEncoding = gzipped.length < plain.length ? 'gzip' : 'json';
  const header = headerFor(encoding);
  return {
    header,
    payload: encoding === 'gzip' ? gzipped : plain,
    userProperties: userProperties(header),
    jsonBytes: plain.length,
  };
}

/** Encodes records into one v1 envelope, compressed when that is smaller. */
export function encodeEnvelope(
  gatewayId: string,
  records: readonly DrRecord[],
  batchId: string = newBatchId(),
): Envelope {
  return encodeSerialised(gatewayId, records, records.map(recordJson), batchId);
}

/** Encodes records into one v2 (columnar) envelope. */
export function encodeColumnarEnvelope(
  gatewayId: string,
  records: readonly DrRecord[],
  batchId: string = newBatchId(),
): Envelope {
  const { firstId, lastId } = bounds(records);
  const body = encodeColumns(records);
  const compressed = gzipSync(body, { level: 6 });
  const header: EnvelopeHeader = {
    v: ENVELOPE_VERSION_COLUMNAR,
    gatewayId,
    batchId,
    count: records.length,
    firstId,
    lastId,
    encoding: 'columnar-gzip',
    inflatedBytes: body.length,
  };
  const headerJson = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(V2_PREFIX_BYTES);
  V2_MAGIC.copy(prefix);
  prefix.writeUInt16BE(headerJson.length, V2_MAGIC.length);
  return {
    header,
    payload: Buffer.concat([prefix, headerJson, compressed]),
    userProperties: userProperties(header),
    jsonBytes: body.length,
  };
}

export interface PackOptions {
  /** 1 (JSON, the default) or 2 (columnar). */
  readonly version?: EnvelopeVersion;
  /**
   * v2: payload bytes per record seen in earlier envelopes of similar records (e.g. the last call's),
   * so that the first envelope is usually right the first time.
   */
  readonly bytesPerRecordHint?: number;
}

/** Envelopes at least this full stop the search for a larger one. */
const GOOD_FILL = 0.92;
const MAX_GUIDED_ATTEMPTS = 6;
/** A first guess of v2 payload bytes per record, corrected by every envelope encoded. */
const V2_FIRST_GUESS_BYTES_PER_RECORD = 24;

/**
 * Packs records, in order, into as few envelopes as fit under `maxBytes` each: the envelope grows while
 * its encoded size fits, so throughput under IoT Core's byte quota is bound by bytes, not by the number
 * of publishes. The record count of each envelope is guessed from the compression of the previous
 * attempt (usually one or two encodes per envelope), with a bisection between the known bounds as the
 * fallback. v1 weighs records by their JSON (serialised once); v2 by count. A single record too large
 * for an envelope is an error (the store refuses such records).
 */
export function packEnvelopes(
  gatewayId: string,
  records: readonly DrRecord[],
  maxBytes: number = DEFAULT_MAX_ENVELOPE_BYTES,
  options: PackOptions = {},
): Envelope[] {
  const columnar = options.version === ENVELOPE_VERSION_COLUMNAR;
  const json = columnar ? [] : records.map(recordJson);
  // prefix[i]: the weight of records [0, i): serialised bytes (v1) or the count (v2).
  const prefix = new Float64Array(records.length + 1);
  if (columnar) prefix.forEach((_, i) => (prefix[i] = i));
  else json.forEach((j, i) => (prefix[i + 1] = (prefix[i] ?? 0) + Buffer.byteLength(j) + 1));
  const weight = (from: number, to: number): number => (prefix[to] ?? 0) - (prefix[from] ?? 0);
  /** The largest count from `start` whose weight is at most `budget` (at least 1). */
  const countFor = (start: number, budget: number): number => {
    let lo = start + 1;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (weight(start, mid) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo - start;
  };
  const out: Envelope[] = [];
  // Payload bytes per unit of weight, learnt as envelopes are encoded.
  let ratio = columnar ? (options.bytesPerRecordHint ?? V2_FIRST_GUESS_BYTES_PER_RECORD) : 1;
  let start = 0;
  while (start < records.length) {
    const remaining = records.length - start;
    const encode = (n: number): Envelope => {
      const slice = records.slice(start, start + n);
      return columnar
        ? encodeColumnarEnvelope(gatewayId, slice)
        : encodeSerialised(gatewayId, slice, json.slice(start, start + n), newBatchId());
    };
    let fits = 0; // largest count known to fit
    let tooBig = remaining + 1; // smallest count known not to fit
    let best: Envelope | undefined;
    for (let attempt = 0; fits + 1 < tooBig; attempt++) {
      const guided = attempt < MAX_GUIDED_ATTEMPTS;
      let n = guided ? countFor(start, (maxBytes * 0.97) / ratio) : (fits + tooBig) >> 1;
      n = Math.min(Math.max(n, fits + 1), tooBig - 1);
      const candidate = encode(n);
      ratio = Math.max(0.01, candidate.payload.length / Math.max(1, weight(start, start + n)));
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

function invalid(message: string, cause?: unknown): never {
  throw new DrError('RECORD_INVALID', message, cause === undefined ? {} : { cause });
}

function inflate(bytes: Buffer, limit: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      return invalid(`envelope inflates past the limit of ${limit} bytes`, err);
    return invalid('envelope is not valid gzip', err);
  }
}

/** Checks records against the model and the header; ids must be unique within an envelope. */
function checkRecords(header: EnvelopeHeader, records: readonly unknown[], maxDepth: number): DrRecord[] {
  if (header.count !== records.length) invalid('envelope header does not agree with its records');
  const ids = new Set<string>();
  records.forEach((r, i) => {
    const problem = recordProblem(r, maxDepth);
    if (problem !== null) invalid(`record ${i}: ${problem}`);
    const id = (r as DrRecord).id;
    if (ids.has(id))
      throw new DrError(
        'RECORD_INVALID',
        `record ${i}: id ${id.slice(0, 80)} appears twice in one envelope`,
        {
          details: { reason: 'duplicate_id' },
        },
      );
    ids.add(id);
  });
  const typed = records as DrRecord[];
  if (typed[0]?.id !== header.firstId || typed.at(-1)?.id !== header.lastId)
    invalid('envelope header does not agree with its records');
  return typed;
}

function decodeV1(
  bytes: Buffer,
  o: Required<DecodeOptions>,
): { header: EnvelopeHeader; records: DrRecord[] } {
  const gzipped = bytes.subarray(0, 2).equals(GZIP_MAGIC);
  if (!gzipped && bytes.length > o.maxInflatedBytes)
    invalid(`envelope of ${bytes.length} bytes is larger than the limit of ${o.maxInflatedBytes}`);
  const text = (gzipped ? inflate(bytes, o.maxInflatedBytes) : bytes).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return invalid('envelope is not JSON', err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    invalid(`envelope does not match version ${ENVELOPE_VERSION}: not an object`);
  const { header: rawHeader, records, ...rest } = doc as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || !Array.isArray(records) || records.length === 0)
    invalid(`envelope does not match version ${ENVELOPE_VERSION}: records missing or unknown fields`);
  const parsed = headerSchema.safeParse(rawHeader);
  if (!parsed.success)
    invalid(`envelope does not match version ${ENVELOPE_VERSION}: ${parsed.error.issues[0]?.message ?? ''}`);
  const header = parsed.data;
  if (records.length > o.maxRecords) invalid(`envelope holds more than ${o.maxRecords} records`);
  const checked = checkRecords(header, records, o.maxDepth);
  if ((header.encoding === 'gzip') !== gzipped) {
    invalid(`envelope header says ${header.encoding}, the payload is ${gzipped ? 'gzip' : 'plain'}`);
  }
  return { header, records: checked };
}

/**
 * The header of a v2 payload without inflating it, and the envelope as it would be sent (for payloads
 * encoded earlier, such as the store's blocks). Throws RECORD_INVALID when it is not a v2 payload.
 */
export function columnarEnvelopeOf(payload: Buffer): Envelope {
  const { header } = readV2Header(payload);
  return { header, payload, userProperties: userProperties(header), jsonBytes: header.inflatedBytes };
}

/** The header of a v2 payload, checked, and where its body starts. */
function readV2Header(bytes: Buffer): { header: z.output<typeof headerV2Schema>; bodyAt: number } {
  if (bytes.length < V2_PREFIX_BYTES || !bytes.subarray(0, V2_MAGIC.length).equals(V2_MAGIC))
    invalid('not an envelope v2, or too short');
  const headerBytes = bytes.readUInt16BE(V2_MAGIC.length);
  const bodyAt = V2_PREFIX_BYTES + headerBytes;
  if (bodyAt > bytes.length) invalid('envelope v2 header runs past the end');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8', V2_PREFIX_BYTES, bodyAt));
  } catch (err) {
    return invalid('envelope v2 header is not JSON', err);
  }
  const parsed = headerV2Schema.safeParse(raw);
  if (!parsed.success) invalid(`envelope does not match version 2: ${parsed.error.issues[0]?.message ?? ''}`);
  return { header: parsed.data, bodyAt };
}

function decodeV2(
  bytes: Buffer,
  o: Required<DecodeOptions>,
): { header: EnvelopeHeader; records: DrRecord[] } {
  const { header, bodyAt } = readV2Header(bytes);
  if (header.count > o.maxRecords) invalid(`envelope holds more than ${o.maxRecords} records`);
  if (header.inflatedBytes > o.maxInflatedBytes)
    invalid(`envelope inflates to ${header.inflatedBytes} bytes, past the limit of ${o.maxInflatedBytes}`);
  const body = inflate(bytes.subarray(bodyAt), header.inflatedBytes);
  if (body.length !== header.inflatedBytes)
    invalid(`envelope body inflates to ${body.length} bytes, its header says ${header.inflatedBytes}`);
  const records = decodeColumns(body, header.count);
  return { header, records: checkRecords(header, records, o.maxDepth) };
}

/**
 * The records' heads of an envelope v2 (ids, lanes, streams, devices, times) without their bodies: what
 * the store needs to account for a block it evicts or loses. Malformed input is refused with
 * RECORD_INVALID, as by decodeEnvelope.
 */
export function decodeEnvelopeHeads(
  payload: Uint8Array,
  options: Pick<DecodeOptions, 'maxRecords' | 'maxInflatedBytes'> = {},
): { readonly header: EnvelopeHeader; readonly heads: RecordHead[] } {
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS_PER_ENVELOPE;
  const maxInflated = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    const { header, bodyAt } = readV2Header(bytes);
    if (header.count > maxRecords) invalid(`envelope holds more than ${maxRecords} records`);
    if (header.inflatedBytes > maxInflated)
      invalid(`envelope inflates to ${header.inflatedBytes} bytes, past the limit of ${maxInflated}`);
    const heads = decodeColumnHeads(inflate(bytes.subarray(bodyAt), header.inflatedBytes), header.count);
    if (heads.length !== header.count) invalid('envelope header does not agree with its records');
    return { header, heads };
  } catch (err) {
    if (err instanceof DrError) throw err;
    return invalid(`envelope could not be decoded: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

/**
 * Decodes and validates an envelope payload of either version, for cloud consumers and tests. Anything
 * malformed, oversized once inflated, nested too deep or repeating a record id is refused with
 * RECORD_INVALID; no other error escapes.
 */
export function decodeEnvelope(
  payload: Uint8Array,
  options: DecodeOptions = {},
): { readonly header: EnvelopeHeader; readonly records: DrRecord[] } {
  const o: Required<DecodeOptions> = {
    maxInflatedBytes: options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES,
    maxRecords: options.maxRecords ?? DEFAULT_MAX_RECORDS_PER_ENVELOPE,
    maxDepth: options.maxDepth ?? MAX_BODY_DEPTH,
  };
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    if (bytes.subarray(0, V2_MAGIC.length).equals(V2_MAGIC)) return decodeV2(bytes, o);
    return decodeV1(bytes, o);
  } catch (err) {
    if (err instanceof DrError) throw err;
    return invalid(`envelope could not be decoded: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
