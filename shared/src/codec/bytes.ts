import { DrError } from '../errors';

const TWO_POW_32 = 2 ** 32;
/** Integers the codec carries exactly: zig-zagged deltas of values up to 2^51 stay below 2^53. */
export const MAX_CODEC_INT = 2 ** 51;

/** A growing buffer with LEB128 varints (unsigned, and zig-zag signed) for numbers up to 2^53. */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** A non-negative integer below 2^53. */
  uvarint(value: number): void {
    if (value < 128 && this.pos < this.buf.length) {
      this.buf[this.pos++] = value;
      return;
    }
    this.ensure(8);
    let v = value;
    const buf = this.buf;
    while (v >= TWO_POW_32) {
      buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    while (v >= 128) {
      buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** A signed integer of magnitude below 2^52, zig-zag encoded. */
  svarint(value: number): void {
    const z = value >= 0 ? value * 2 : -value * 2 - 1;
    if (z < 128 && this.pos < this.buf.length) this.buf[this.pos++] = z;
    else this.uvarint(z);
  }

  f64(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** A length-prefixed UTF-8 string. */
  string(text: string): void {
    const max = text.length * 3;
    this.ensure(max + 8);
    // Written after room for the longest length prefix, then moved if the prefix is shorter.
    const start = this.pos;
    const written = this.buf.write(text, start + 5, 'utf8');
    this.uvarint(written);
    if (this.pos !== start + 5) this.buf.copy(this.buf, this.pos, start + 5, start + 5 + written);
    this.pos += written;
  }

  /** The bytes written so far (a view; copy it before writing more). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function invalid(what: string): never {
  throw new DrError('RECORD_INVALID', `malformed columnar data: ${what}`);
}

/** Reads what ByteWriter wrote; anything out of bounds or malformed is RECORD_INVALID, never a crash. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.buf.length) invalid('unexpected end');
    return this.buf[this.pos++] as number;
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) invalid('unexpected end in a number');
      const b = this.buf[this.pos++] as number;
      result += (b & 127) * scale;
      if (b < 128) {
        if (result > Number.MAX_SAFE_INTEGER) invalid('number out of range');
        return result;
      }
      scale *= 128;
    }
    return invalid('number too long');
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A count that must not exceed `max` (guards allocations against hostile input). */
  count(max: number, what: string): number {
    const n = this.uvarint();
    if (n > max) invalid(`${what} ${n} exceeds ${max}`);
    return n;
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) invalid('unexpected end in a float');
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, 8).readDoubleLE(0);
    this.pos += 8;
    return v;
  }

  string(): string {
    const len = this.uvarint();
    if (len > this.remaining) invalid('string runs past the end');
    const start = this.buf.byteOffset + this.pos;
    this.pos += len;
    return Buffer.from(this.buf.buffer, start, len).toString('utf8');
  }
}
