/**
 * Protocol Buffers wire format, just the part ONNX files need. The ONNX schema is small and
 * stable, so encoding it by hand keeps the core free of a code generator and of a runtime
 * protobuf library; onnxruntime itself is the judge of whether the bytes are right.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Appends fields to a growing buffer; nested messages are encoded first and added as bytes. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned or two's-complement varint; int64 negatives take ten bytes as protobuf requires. */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    return this.varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, encode: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    encode(inner);
    return this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: readonly number[]): this {
    return this.bytes(field, float32LE(values));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** IEEE 754 single precision, little-endian, whatever the host's byte order. */
export function float32LE(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return out;
}

export type ProtoValue =
  | { readonly wire: 'varint'; readonly value: bigint }
  | { readonly wire: 'fixed64'; readonly value: Uint8Array }
  | { readonly wire: 'len'; readonly value: Uint8Array }
  | { readonly wire: 'fixed32'; readonly value: Uint8Array };

export interface ProtoField {
  readonly field: number;
  readonly data: ProtoValue;
}

export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

/** Splits one message into its fields, without knowing the schema. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new ProtoDecodeError('truncated varint');
      const b = bytes[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoDecodeError('varint longer than 10 bytes');
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > bytes.length) throw new ProtoDecodeError('field runs past the end of the message');
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtoDecodeError('field number 0');
    switch (wire) {
      case WIRE_VARINT:
        fields.push({ field, data: { wire: 'varint', value: varint() } });
        break;
      case WIRE_FIXED64:
        fields.push({ field, data: { wire: 'fixed64', value: take(8) } });
        break;
      case WIRE_LEN:
        fields.push({ field, data: { wire: 'len', value: take(Number(varint())) } });
        break;
      case WIRE_FIXED32:
        fields.push({ field, data: { wire: 'fixed32', value: take(4) } });
        break;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire}`);
    }
  }
  return fields;
}

export function fieldString(data: ProtoValue): string {
  if (data.wire !== 'len') throw new ProtoDecodeError('expected a length-delimited field');
  return utf8Decoder.decode(data.value);
}

export function fieldInt(data: ProtoValue): bigint {
  if (data.wire !== 'varint') throw new ProtoDecodeError('expected a varint field');
  return BigInt.asIntN(64, data.value);
}

export function fieldBytes(data: ProtoValue): Uint8Array {
  if (data.wire !== 'len') throw new ProtoDecodeError('expected a length-delimited field');
  return data.value;
}
