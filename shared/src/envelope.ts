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

export function newBatchId(): string {
  return randomBytes(8).toString('hex');
}

/** Encodes records into one envelope, compressed when that is smaller. */
export function encodeEnvelope(
  gatewayId: string,
  records: readonly DrRecord[],
  batchId: string = newBatchId(),
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
  const body = records.map((r) => ({
    id: r.id,
    stream: r.stream,
    lane: r.lane,
    deviceId: r.deviceId,
    tsMs: r.tsMs,
    body: r.body,
  }));
  const document = (encoding: EnvelopeEncoding): string =>
    JSON.stringify({ header: headerFor(encoding), records: body });
  const plain = Buffer.from(document('json'));
  const gzipped = gzipSync(Buffer.from(document('gzip')), { level: 6 });
  const encoding: EnvelopeEncoding = gzipped.length < plain.length ? 'gzip' : 'json';
  const header = headerFor(encoding);
  return {
    header,
    payload: encoding === 'gzip' ? gzipped : plain,
    userProperties: [
      { name: 'batchId', value: batchId },
      { name: 'encoding', value: encoding },
      { name: 'envelopeVersion', value: String(ENVELOPE_VERSION) },
    ],
    jsonBytes: plain.length,
  };
}

/**
 * Packs records, in order, into as few envelopes as fit under `maxBytes` each: the envelope grows while
 * its encoded size fits, so throughput under IoT Core's byte quota is bound by bytes, not by the number
 * of publishes. A single record too large for an envelope is an error (the store refuses such records).
 */
export function packEnvelopes(
  gatewayId: string,
  records: readonly DrRecord[],
  maxBytes: number = DEFAULT_MAX_ENVELOPE_BYTES,
): Envelope[] {
  const out: Envelope[] = [];
  let start = 0;
  while (start < records.length) {
    // Binary search the longest prefix from `start` whose envelope fits.
    let lo = 1;
    let hi = records.length - start;
    let best: Envelope | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const candidate = encodeEnvelope(gatewayId, records.slice(start, start + mid));
      if (candidate.payload.length <= maxBytes) {
        best = candidate;
        lo = mid + 1;
      } else {
        hi = mid - 1;
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
