import { DrError } from '../errors';
import {
  LANE_PRIORITY,
  LANES,
  parseRecordId,
  type DrRecord,
  type JsonObject,
  type JsonValue,
  type Lane,
} from '../record';
import { ByteReader, ByteWriter, MAX_CODEC_INT } from './bytes';
import { setData } from './json-value';

/**
 * The columnar body of a batch (envelope v2 and the store's compacted blocks), before compression.
 *
 * Records are grouped by (lane, stream, device) and by the key list of their body (a "shape"). Per
 * record, in batch order: group, id prefix and sequence delta, shape, and the time since the previous
 * record of its group. Then, per (group, shape) and per key, one column of that key's values: a column
 * of plain decimals is stored as integers at the column's decimal scale, delta-encoded (the first value
 * relative to the last one of the same key); any other column is tagged value by value (null, booleans,
 * decimals, float64, strings, JSON for arrays and objects). Every number comes back as the same double:
 * a decimal is written only when `n / 10^scale` reproduces it, otherwise its float64 bits are.
 */
const FORMAT = 1;

const COLUMN_DECIMAL = 0;
const COLUMN_TAGGED = 1;

const TAG_NULL = 0;
const TAG_FALSE = 1;
const TAG_TRUE = 2;
const TAG_DECIMAL = 3;
const TAG_FLOAT = 4;
const TAG_STRING = 5;
const TAG_JSON = 6;

const TS_DELTA2 = 0;
const TS_RAW = 1;
const TS_DELTA_LIMIT = 2 ** 50;

const ID_PREFIX = 0;
const ID_LITERAL = 1;

/** 10^k is exact in a double up to k = 22. */
const MAX_SCALE = 22;
const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);

/** The smallest scale k at which x is the integer n = x·10^k with n / 10^k === x, or -1. */
function decimalScale(x: number): number {
  if (Object.is(x, -0)) return -1;
  for (let k = 0; k <= MAX_SCALE; k++) {
    const p = POW10[k] as number;
    const n = Math.round(x * p);
    if (Math.abs(n) > MAX_CODEC_INT) return -1;
    if (n / p === x) return k;
  }
  return -1;
}

interface Group {
  readonly lane: Lane;
  readonly stream: string;
  readonly deviceId: string;
}

interface Pair {
  readonly shape: number;
  readonly rows: number[];
}

/** Encoder side of a (group, shape) pair: the values gathered column by column. */
interface EncodePair {
  readonly shape: number;
  readonly keys: readonly string[];
  readonly columns: JsonValue[][];
}

class Tables {
  readonly prefixes: { kind: number; text: string }[] = [];
  private readonly prefixIndex = new Map<string, number>();
  readonly groups: Group[] = [];
  private readonly groupIndex = new Map<string, number[]>();
  readonly shapes: string[][] = [];
  private readonly shapeIndex = new Map<string, number>();

  prefix(kind: number, text: string): number {
    const key = `${kind}${text}`;
    let i = this.prefixIndex.get(key);
    if (i === undefined) {
      i = this.prefixes.length;
      this.prefixes.push({ kind, text });
      this.prefixIndex.set(key, i);
    }
    return i;
  }

  group(lane: Lane, stream: string, deviceId: string): number {
    // Keyed by device: a batch has many devices and usually one stream and lane per device.
    let candidates = this.groupIndex.get(deviceId);
    if (candidates === undefined) this.groupIndex.set(deviceId, (candidates = []));
    for (const i of candidates) {
      const g = this.groups[i] as Group;
      if (g.stream === stream && g.lane === lane) return i;
    }
    const i = this.groups.length;
    this.groups.push({ lane, stream, deviceId });
    candidates.push(i);
    return i;
  }

  shape(keys: string[]): number {
    const key = JSON.stringify(keys);
    let i = this.shapeIndex.get(key);
    if (i === undefined) {
      i = this.shapes.length;
      this.shapes.push(keys);
      this.shapeIndex.set(key, i);
    }
    return i;
  }
}

/** The sequence after a known `prefix:` when it is canonical (as parseRecordId reads it), or -1. */
function canonicalSeq(id: string, from: number): number {
  const len = id.length - from;
  if (len < 1 || len > 16) return -1;
  let seq = 0;
  for (let i = from; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || (c === 0 && i === from)) return -1;
    seq = seq * 10 + c;
  }
  return Number.isSafeInteger(seq) ? seq : -1;
}

function writeTagged(w: ByteWriter, value: JsonValue): void {
  if (value === null) w.u8(TAG_NULL);
  else if (value === false) w.u8(TAG_FALSE);
  else if (value === true) w.u8(TAG_TRUE);
  else if (typeof value === 'number') {
    const k = decimalScale(value);
    if (k >= 0) {
      w.u8(TAG_DECIMAL);
      w.u8(k);
      w.svarint(Math.round(value * (POW10[k] as number)));
    } else {
      w.u8(TAG_FLOAT);
      w.f64(value);
    }
  } else if (typeof value === 'string') {
    w.u8(TAG_STRING);
    w.string(value);
  } else {
    w.u8(TAG_JSON);
    w.string(JSON.stringify(value));
  }
}

/**
 * The decimal scale of a column of values, or -1 when a value is not a plain
 * decimal. The scale of the first few values is usually the column's; it is verified on all of them.
 */
function columnScale(values: readonly JsonValue[]): number {
  let scale = 0;
  const sample = Math.min(values.length, 8);
  for (let i = 0; i < sample; i++) {
    const v = values[i];
    if (typeof v !== 'number') return -1;
    const k = decimalScale(v);
    if (k < 0) return -1;
    if (k > scale) scale = k;
  }
  for (;;) {
    const p = POW10[scale] as number;
    let failed: number | undefined;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') return -1;
      const n = Math.round(v * p);
      if (n / p !== v || Math.abs(n) > MAX_CODEC_INT) {
        failed = v;
        break;
      }
    }
    if (failed === undefined) return scale;
    const k = decimalScale(failed);
    if (k <= scale) return -1;
    scale = k;
  }
}

/** Appends a record's values to its pair's columns; false (and nothing appended) if its keys differ. */
function gather(pair: EncodePair, body: JsonObject): boolean {
  const { keys, columns } = pair;
  let j = 0;
  for (const key in body) {
    if (keys[j] !== key) {
      for (let u = 0; u < j; u++) (columns[u] as JsonValue[]).pop();
      return false;
    }
    (columns[j] as JsonValue[]).push(body[key] as JsonValue);
    j++;
  }
  if (j === keys.length) return true;
  for (let u = 0; u < j; u++) (columns[u] as JsonValue[]).pop();
  return false;
}

/** Encodes records (in order) into the columnar body. */
export function encodeColumns(records: readonly DrRecord[]): Buffer {
  const n = records.length;
  const t = new Tables();
  const groupOf = new Array<number>(n);
  const prefixOf = new Array<number>(n);
  const seqOf = new Array<number>(n);
  const shapeOf = new Array<number>(n);
  /** Per group: the pair its last record went to (the next one usually has the same keys). */
  const lastPair: EncodePair[] = [];
  const pairs = new Map<number, EncodePair>(); // key: group * 2^20 + shape
  const pairOrder: EncodePair[] = [];
  let lastPrefix = '';
  let lastPrefixIndex = -1;
  for (let i = 0; i < n; i++) {
    const r = records[i] as DrRecord;
    const g = t.group(r.lane, r.stream, r.deviceId);
    groupOf[i] = g;
    // Ids of one store share their prefix: parse only the sequence when the prefix repeats.
    const id = r.id;
    const seq = lastPrefixIndex >= 0 && id.startsWith(lastPrefix) ? canonicalSeq(id, lastPrefix.length) : -1;
    if (seq > 0) {
      prefixOf[i] = lastPrefixIndex;
      seqOf[i] = seq;
    } else {
      const parsed = parseRecordId(id);
      if (parsed === null) {
        prefixOf[i] = t.prefix(ID_LITERAL, id);
        seqOf[i] = 0;
      } else {
        lastPrefix = `${parsed.prefix}:`;
        lastPrefixIndex = t.prefix(ID_PREFIX, parsed.prefix);
        prefixOf[i] = lastPrefixIndex;
        seqOf[i] = parsed.seq;
      }
    }
    let pair = lastPair[g];
    if (pair === undefined || !gather(pair, r.body)) {
      const keys = Object.keys(r.body);
      const shape = t.shape(keys);
      const pk = g * 1_048_576 + shape;
      pair = pairs.get(pk);
      if (pair === undefined) {
        pair = { shape, keys: t.shapes[shape] as string[], columns: keys.map(() => []) };
        pairs.set(pk, pair);
        pairOrder.push(pair);
      }
      gather(pair, r.body);
      lastPair[g] = pair;
    }
    shapeOf[i] = pair.shape;
  }

  const w = new ByteWriter(Math.max(1024, n * 24));
  w.uvarint(FORMAT);
  w.uvarint(n);
  w.uvarint(t.prefixes.length);
  for (const p of t.prefixes) {
    w.u8(p.kind);
    w.string(p.text);
  }
  w.uvarint(t.groups.length);
  for (const g of t.groups) {
    w.u8(LANE_PRIORITY[g.lane]);
    w.string(g.stream);
    w.string(g.deviceId);
  }
  w.uvarint(t.shapes.length);
  for (const keys of t.shapes) {
    w.uvarint(keys.length);
    for (const k of keys) w.string(k);
  }
  // Per-record columns, each in its own run so that similar bytes sit together.
  for (let i = 0; i < n; i++) w.uvarint(groupOf[i] as number);
  if (t.prefixes.length > 1) for (let i = 0; i < n; i++) w.uvarint(prefixOf[i] as number);
  let prevSeq = 0;
  for (let i = 0; i < n; i++) {
    const seq = seqOf[i] as number;
    if (seq === 0) continue; // a literal id
    w.svarint(seq - prevSeq);
    prevSeq = seq;
  }
  if (t.shapes.length > 1) for (let i = 0; i < n; i++) w.uvarint(shapeOf[i] as number);
  // Delta of deltas per group: a device reporting at a steady period costs one small number per
  // reading. Times beyond 2^50 ms (year 37648) are written as they are, to keep every step exact.
  const rawTimes = records.some((r) => r.tsMs > TS_DELTA_LIMIT);
  w.u8(rawTimes ? TS_RAW : TS_DELTA2);
  if (rawTimes) for (const r of records) w.uvarint(r.tsMs);
  else {
    const firstTs = records[0]?.tsMs ?? 0;
    w.uvarint(firstTs);
    const prevTs = new Array<number>(t.groups.length).fill(firstTs);
    const prevDelta = new Array<number>(t.groups.length).fill(0);
    for (let i = 0; i < n; i++) {
      const g = groupOf[i] as number;
      const ts = (records[i] as DrRecord).tsMs;
      const delta = ts - (prevTs[g] as number);
      w.svarint(delta - (prevDelta[g] as number));
      prevTs[g] = ts;
      prevDelta[g] = delta;
    }
  }
  // Value columns.
  const lastByKey = new Map<string, { scale: number; value: number }>();
  for (const pair of pairOrder) {
    pair.keys.forEach((key, j) => {
      const values = pair.columns[j] as JsonValue[];
      const scale = columnScale(values);
      if (scale < 0) {
        w.u8(COLUMN_TAGGED);
        for (const v of values) writeTagged(w, v);
        return;
      }
      w.u8(COLUMN_DECIMAL);
      w.u8(scale);
      const p = POW10[scale] as number;
      const base = lastByKey.get(key);
      let prev = base !== undefined && base.scale === scale ? base.value : 0;
      for (let i = 0; i < values.length; i++) {
        const v = Math.round((values[i] as number) * p);
        w.svarint(v - prev);
        prev = v;
      }
      lastByKey.set(key, { scale, value: prev });
    });
  }
  return Buffer.from(w.view());
}

function invalid(what: string): never {
  throw new DrError('RECORD_INVALID', `malformed columnar data: ${what}`);
}

function readTagged(r: ByteReader): JsonValue {
  const tag = r.u8();
  switch (tag) {
    case TAG_NULL:
      return null;
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    case TAG_DECIMAL: {
      const k = r.u8();
      if (k > MAX_SCALE) invalid('decimal scale out of range');
      return r.svarint() / (POW10[k] as number);
    }
    case TAG_FLOAT: {
      const v = r.f64();
      if (!Number.isFinite(v)) invalid('a number is not finite');
      return v;
    }
    case TAG_STRING:
      return r.string();
    case TAG_JSON: {
      const text = r.string();
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        return invalid('a nested value is not JSON');
      }
    }
    default:
      return invalid(`unknown value tag ${tag}`);
  }
}

interface Heads {
  readonly n: number;
  readonly groups: readonly Group[];
  readonly groupOf: readonly number[];
  readonly ids: readonly string[];
  readonly shapes: readonly (readonly string[])[];
  readonly shapeOf: readonly number[];
  readonly tsOf: readonly number[];
}

/** What a record is without its body: enough to name it in a gap marker or to index it. */
export interface RecordHead {
  readonly id: string;
  readonly lane: Lane;
  readonly stream: string;
  readonly deviceId: string;
  readonly tsMs: number;
}

/** The tables and per-record columns that precede the bodies. */
function readHeads(r: ByteReader, maxRecords: number): Heads {
  if (r.uvarint() !== FORMAT) invalid('unknown columnar format');
  const n = r.count(maxRecords, 'record count');
  // Every table entry and column value takes at least one byte: bound the tables by what is left.
  const prefixes: { kind: number; text: string }[] = [];
  for (let i = r.count(r.remaining, 'id prefixes'); i > 0; i--) {
    const kind = r.u8();
    if (kind !== ID_PREFIX && kind !== ID_LITERAL) invalid('unknown id kind');
    prefixes.push({ kind, text: r.string() });
  }
  const groups: Group[] = [];
  for (let i = r.count(r.remaining, 'groups'); i > 0; i--) {
    const lane = LANES[r.u8()];
    if (lane === undefined) invalid('unknown lane');
    groups.push({ lane, stream: r.string(), deviceId: r.string() });
  }
  const shapes: string[][] = [];
  for (let i = r.count(r.remaining, 'shapes'); i > 0; i--) {
    const keys: string[] = [];
    for (let k = r.count(r.remaining, 'keys'); k > 0; k--) keys.push(r.string());
    if (new Set(keys).size !== keys.length) invalid('a shape repeats a key');
    shapes.push(keys);
  }
  if (n > 0 && (prefixes.length === 0 || groups.length === 0 || shapes.length === 0)) invalid('empty tables');
  // Each record takes at least a group index and a time: no more records than bytes left.
  if (2 * n > r.remaining) invalid('more records than the data can hold');
  const index = (max: number, what: string): number => {
    const v = r.uvarint();
    if (v >= max) invalid(`${what} index out of range`);
    return v;
  };
  const groupOf = new Array<number>(n);
  for (let i = 0; i < n; i++) groupOf[i] = index(groups.length, 'group');
  const prefixOf = new Array<number>(n).fill(0);
  if (prefixes.length > 1) for (let i = 0; i < n; i++) prefixOf[i] = index(prefixes.length, 'id prefix');
  const ids = new Array<string>(n);
  let prevSeq = 0;
  for (let i = 0; i < n; i++) {
    const p = prefixes[prefixOf[i] as number] as { kind: number; text: string };
    if (p.kind === ID_LITERAL) {
      ids[i] = p.text;
      continue;
    }
    prevSeq += r.svarint();
    if (!Number.isSafeInteger(prevSeq) || prevSeq < 1) invalid('record sequence out of range');
    ids[i] = `${p.text}:${prevSeq}`;
  }
  const shapeOf = new Array<number>(n).fill(0);
  if (shapes.length > 1) for (let i = 0; i < n; i++) shapeOf[i] = index(shapes.length, 'shape');
  const tsOf = new Array<number>(n);
  const tsMode = r.u8();
  if (tsMode === TS_RAW) for (let i = 0; i < n; i++) tsOf[i] = r.uvarint();
  else if (tsMode === TS_DELTA2) {
    const firstTs = r.uvarint();
    const prevTs = new Array<number>(groups.length).fill(firstTs);
    const prevDelta = new Array<number>(groups.length).fill(0);
    for (let i = 0; i < n; i++) {
      const g = groupOf[i] as number;
      const delta = (prevDelta[g] as number) + r.svarint();
      const ts = (prevTs[g] as number) + delta;
      if (!Number.isSafeInteger(ts) || ts < 0 || ts > TS_DELTA_LIMIT) invalid('timestamp out of range');
      tsOf[i] = ts;
      prevTs[g] = ts;
      prevDelta[g] = delta;
    }
  } else invalid('unknown timestamp mode');
  return { n, groups, groupOf, ids, shapes, shapeOf, tsOf };
}

/**
 * Each record's id, lane, stream, device and time, in order, without decoding a body: a fraction of a
 * full decode's work, for a block's account when it is evicted or lost.
 */
export function decodeColumnHeads(data: Uint8Array, maxRecords: number): RecordHead[] {
  const h = readHeads(new ByteReader(data), maxRecords);
  const out = new Array<RecordHead>(h.n);
  for (let i = 0; i < h.n; i++) {
    const g = h.groups[h.groupOf[i] as number] as Group;
    out[i] = {
      id: h.ids[i] as string,
      stream: g.stream,
      lane: g.lane,
      deviceId: g.deviceId,
      tsMs: h.tsOf[i] as number,
    };
  }
  return out;
}

/**
 * Decodes a columnar body into records, in their original order. `maxRecords` bounds what a hostile
 * body can make this allocate. Values are not validated here beyond their encoding: the envelope
 * checks each decoded record against the record model.
 */
export function decodeColumns(data: Uint8Array, maxRecords: number): DrRecord[] {
  const r = new ByteReader(data);
  const { n, groups, groupOf, ids, shapes, shapeOf, tsOf } = readHeads(r, maxRecords);
  // Rebuild the (group, shape) pairs in order of first appearance, as the encoder did.
  const pairs = new Map<number, Pair>();
  const pairOrder: Pair[] = [];
  const bodies = new Array<JsonObject>(n);
  for (let i = 0; i < n; i++) {
    bodies[i] = {};
    const pk = (groupOf[i] as number) * 1_048_576 + (shapeOf[i] as number);
    let pair = pairs.get(pk);
    if (pair === undefined) {
      pair = { shape: shapeOf[i] as number, rows: [] };
      pairs.set(pk, pair);
      pairOrder.push(pair);
    }
    pair.rows.push(i);
  }
  const lastByKey = new Map<string, { scale: number; value: number }>();
  for (const pair of pairOrder) {
    for (const key of shapes[pair.shape] as string[]) {
      const kind = r.u8();
      if (kind === COLUMN_TAGGED) {
        for (const i of pair.rows) setData(bodies[i] as JsonObject, key, readTagged(r));
        continue;
      }
      if (kind !== COLUMN_DECIMAL) invalid(`unknown column kind ${kind}`);
      const scale = r.u8();
      if (scale > MAX_SCALE) invalid('decimal scale out of range');
      const p = POW10[scale] as number;
      const base = lastByKey.get(key);
      let prev = base !== undefined && base.scale === scale ? base.value : 0;
      for (const i of pair.rows) {
        prev += r.svarint();
        if (Math.abs(prev) > Number.MAX_SAFE_INTEGER) invalid('decimal out of range');
        setData(bodies[i] as JsonObject, key, prev / p);
      }
      lastByKey.set(key, { scale, value: prev });
    }
  }
  if (r.remaining !== 0) invalid(`${r.remaining} bytes left over`);
  const out = new Array<DrRecord>(n);
  for (let i = 0; i < n; i++) {
    const g = groups[groupOf[i] as number] as Group;
    out[i] = {
      id: ids[i] as string,
      stream: g.stream,
      lane: g.lane,
      deviceId: g.deviceId,
      tsMs: tsOf[i] as number,
      body: bodies[i] as JsonObject,
    };
  }
  return out;
}
