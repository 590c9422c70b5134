import { describe, expect, it } from 'vitest';
import { ProtoDecodeError, ProtoWriter, readFields } from '../../../functions/core/onnx/wire.js';

const bytes = (w: ProtoWriter) => [...w.finish()];

describe('protobuf wire encoding', () => {
  // The examples from the Protocol Buffers encoding guide.
  it('encodes field 1 = 150 as 08 96 01', () => {
    expect(bytes(new ProtoWriter().int(1, 150))).toEqual([0x08, 0x96, 0x01]);
  });

  it('encodes field 2 = "testing" as 12 07 74 65 73 74 69 6e 67', () => {
    expect(bytes(new ProtoWriter().string(2, 'testing'))).toEqual([
      0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
    ]);
  });

  it('encodes a negative int64 as a ten-byte two’s-complement varint', () => {
    expect(bytes(new ProtoWriter().int(1, -1))).toEqual([
      0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
  });

  it('encodes a float as fixed32 little-endian IEEE 754', () => {
    // 1.0f = 0x3f800000; -2.5f = 0xc0200000
    expect(bytes(new ProtoWriter().float(2, 1))).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect(bytes(new ProtoWriter().packedFloats(4, [-2.5]))).toEqual([0x22, 0x04, 0x00, 0x00, 0x20, 0xc0]);
  });

  it('nests a message as a length-delimited field', () => {
    // field 3 { field 1 = 150 }  (the guide's "Test3" example: 1a 03 08 96 01)
    expect(bytes(new ProtoWriter().message(3, (m) => m.int(1, 150)))).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
  });

  it('packs repeated ints into one length-delimited field', () => {
    // field 4 [3, 270, 86942] → 22 06 03 8e 02 9e a7 05 (the guide's packed example)
    expect(bytes(new ProtoWriter().packedInts(4, [3, 270, 86942]))).toEqual([
      0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
    ]);
  });

  it('grows past its initial buffer', () => {
    const long = 'x'.repeat(1000);
    const out = new ProtoWriter().string(1, long).finish();
    expect(out.length).toBe(1 + 2 + 1000); // tag, varint(1000) = e8 07, payload
    expect([...out.subarray(0, 3)]).toEqual([0x0a, 0xe8, 0x07]);
  });
});

describe('protobuf wire decoding', () => {
  it('splits hand-written bytes into fields', () => {
    const fields = readFields(
      Uint8Array.from([0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x15, 0, 0, 0x80, 0x3f]),
    );
    expect(fields.map((f) => f.field)).toEqual([1, 2, 2]);
    expect(fields[0]?.data).toEqual({ wire: 'varint', value: 150n });
    expect(fields[1]?.data.wire).toBe('len');
    expect([...((fields[1] as (typeof fields)[number]).data.value as Uint8Array)]).toEqual([0x68, 0x69]);
    expect(fields[2]?.data.wire).toBe('fixed32');
  });

  it('rejects truncated input', () => {
    expect(() => readFields(Uint8Array.from([0x08, 0x96]))).toThrow(ProtoDecodeError);
    expect(() => readFields(Uint8Array.from([0x12, 0x05, 0x68]))).toThrow(ProtoDecodeError);
  });
});
