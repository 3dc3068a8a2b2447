/**
 * A small ONNX model writer: the protobuf wire format by hand, for the few message types a model of
 * constant tensors and standard operators needs (ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto, AttributeProto). Field numbers follow onnx.proto.
 */

class Writer {
  private readonly chunks: Buffer[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.chunks.push(Buffer.from(bytes));
  }

  private key(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.chunks.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export const TensorType = { FLOAT: 1, INT64: 7 } as const;
type ElemType = (typeof TensorType)[keyof typeof TensorType];

export interface Tensor {
  readonly name: string;
  readonly type: ElemType;
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

export type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly float: number };

export interface Node {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: readonly Attribute[];
}

export interface ValueInfo {
  readonly name: string;
  readonly type: ElemType;
  /** A number is a fixed size; a string names a symbolic dimension (e.g. the batch). */
  readonly shape: readonly (number | string)[];
}

export interface ModelSpec {
  readonly graphName: string;
  readonly opset: number;
  readonly producer: string;
  readonly producerVersion: string;
  readonly doc?: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly Tensor[];
  readonly nodes: readonly Node[];
  /** Stored as metadata_props: what the model is, how it was made, its thresholds. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** IR version 8 goes with opsets up to 18 (ONNX 1.13+); onnxruntime accepts it. */
const IR_VERSION = 8;

function tensor(w: Writer, t: Tensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  if (t.type === TensorType.FLOAT) {
    const raw = Buffer.alloc(t.values.length * 4);
    t.values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
    w.bytes(9, raw);
  } else {
    const raw = Buffer.alloc(t.values.length * 8);
    t.values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
    w.bytes(9, raw);
  }
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, v.type);
      tt.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function attribute(w: Writer, a: Attribute): void {
  w.string(1, a.name);
  if ('int' in a) w.int(3, a.int).int(20, 2);
  else if ('float' in a) w.float(2, a.float).int(20, 1);
  else {
    for (const i of a.ints) w.int(8, i);
    w.int(20, 7);
  }
}

/** Serialises a model to the bytes of an .onnx file. */
export function writeModel(spec: ModelSpec): Buffer {
  const w = new Writer();
  w.int(1, IR_VERSION);
  w.string(2, spec.producer);
  w.string(3, spec.producerVersion);
  if (spec.doc !== undefined) w.string(6, spec.doc);
  w.message(7, (g) => {
    spec.nodes.forEach((n, i) =>
      g.message(1, (node) => {
        for (const input of n.inputs) node.string(1, input);
        for (const output of n.outputs) node.string(2, output);
        node.string(3, n.name ?? `${n.op}_${i}`);
        node.string(4, n.op);
        for (const a of n.attributes ?? []) node.message(5, (attr) => attribute(attr, a));
      }),
    );
    g.string(2, spec.graphName);
    for (const t of spec.initializers) g.message(5, (tw) => tensor(tw, t));
    for (const v of spec.inputs) g.message(11, (vw) => valueInfo(vw, v));
    for (const v of spec.outputs) g.message(12, (vw) => valueInfo(vw, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, spec.opset));
  for (const [key, value] of Object.entries(spec.metadata))
    w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}
