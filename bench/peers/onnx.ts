/**
 * A minimal ONNX writer: just enough protobuf (varints, length-delimited fields, little-endian floats)
 * to encode a ModelProto with one GraphProto of float32 nodes, initializers and typed inputs/outputs.
 * Field numbers are those of onnx/onnx.proto (IR version 7, default domain, one opset).
 * @module
 */

/** One attribute value: an int, a float, or a list of ints. */
export type AttrValue = number | number[] | { float: number };

/** A node: `op` (e.g. "Conv") from `inputs` to `outputs`, with attributes. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** A float32 constant (an initializer). */
export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

/** A graph input or output: float32 with fixed dims. */
export interface OnnxValue {
  name: string;
  dims: readonly number[];
}

/** Everything that goes into a model. */
export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

/** Appends protobuf fields to a list of byte chunks. */
class Writer {
  readonly chunks: Uint8Array[] = [];

  #varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v)); // negative int64 values take 10 bytes, as protobuf does
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.chunks.push(new Uint8Array(out));
  }

  #key(field: number, wire: number): void {
    this.#varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.#key(field, 0);
    this.#varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.#key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.#key(field, 2);
    this.#varint(b.length);
    this.chunks.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().string(1, name);
  if (Array.isArray(v)) {
    for (const i of v) w.int(8, i); // ints (unpacked repeated int64 is valid protobuf)
    return w.int(20, ATTR_INTS);
  }
  if (typeof v === "number") return w.int(3, v).int(20, ATTR_INT);
  return w.float(2, v.float).int(20, ATTR_FLOAT);
}

function node(n: OnnxNode, index: number): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: OnnxTensor): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, FLOAT).string(8, t.name);
  const raw = new Uint8Array(t.data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < t.data.length; i++) dv.setFloat32(4 * i, t.data[i], true);
  return w.bytes(9, raw); // raw_data, little-endian
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, new Writer().int(1, d)); // Dimension.dim_value
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** Encodes `g` as the bytes of an ONNX ModelProto (IR 7, opset `opset` of the default domain). */
export function encodeModel(g: OnnxGraph, opset = 13, name = "cnnzoo"): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, name);
  for (const t of g.initializers) graph.message(5, tensor(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new Writer()
    .int(1, 7) // ir_version
    .string(2, "cnnzoo-bench")
    .message(7, graph)
    .message(8, new Writer().string(1, "").int(2, opset))
    .finish();
}
