import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BitNetError } from '../../src/errors.js';
import { decodeGgml, encodeGgml, encodeTernaryBlocks, GGML_TYPES, type GgmlTypeName } from '../../src/formats/gguf/ggml-types.js';
import { floatToBf16, floatToHalf, halfToFloat } from '../../src/util/half.js';
import { readGgufHeader, readGgufTensor, readGgufTensorBytes } from '../../src/formats/gguf/reader.js';
import { gguf } from '../../src/formats/gguf/values.js';
import { writeGguf } from '../../src/formats/gguf/writer.js';
import { SeededRandom } from '../../src/util/random.js';
import { readGolden } from '../helpers/golden.js';

const REFERENCE = fileURLToPath(new URL('../golden/reference.gguf', import.meta.url));
const referenceValues = readGolden<Record<string, { shape: number[]; values: number[] }>>('reference-gguf.json');
const ggmlGolden = readGolden<{ cases: { type: string; name: string; input: number[]; hex: string }[] }>('ggml-quant.json');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const tmp = async (): Promise<string> => mkdtemp(join(tmpdir(), 'bitnet-gguf-'));

describe('ggml type codecs', () => {
  it('encode exactly as llama.cpp quantize_row_*_ref (golden bytes from its own code)', () => {
    for (const c of ggmlGolden.cases) {
      expect(hex(encodeGgml(c.type.toUpperCase() as GgmlTypeName, Float32Array.from(c.input))), `${c.type} ${c.name}`).toBe(c.hex);
    }
  });

  it('ternary blocks with a given d equal the quantizer on q * d', () => {
    const rng = new SeededRandom(2);
    const q = Int8Array.from({ length: 512 }, () => rng.int(3) - 1);
    q[0] = 1;
    q[256] = -1;
    for (const type of ['TQ2_0', 'TQ1_0'] as const) {
      const direct = encodeTernaryBlocks(type, q, 0.0173);
      expect(direct).toEqual(
        encodeGgml(
          type,
          Float32Array.from(q, (v) => Math.fround(v * 0.0173)),
        ),
      );
      expect(decodeGgml(type, direct, 512)).toEqual(Float32Array.from(q, (v) => Math.fround(v * halfToFloat(floatToHalf(0.0173)))));
    }
  });

  it('f16 and bf16 round to nearest even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('round trips every type', () => {
    const rng = new SeededRandom(4);
    const data = Float32Array.from({ length: 512 }, () => rng.normal());
    const halfExact = data.map((v) => halfToFloat(floatToHalf(v)));
    expect(decodeGgml('F32', encodeGgml('F32', data), 512)).toEqual(data);
    expect(decodeGgml('F16', encodeGgml('F16', halfExact), 512)).toEqual(halfExact);
    const bf = decodeGgml('BF16', encodeGgml('BF16', data), 512);
    expect(decodeGgml('BF16', encodeGgml('BF16', bf), 512)).toEqual(bf);
    const q8 = decodeGgml('Q8_0', encodeGgml('Q8_0', data), 512);
    q8.forEach((v, i) => expect(Math.abs(v - (data[i] as number))).toBeLessThan(0.03));
    const ternary = Float32Array.from({ length: 512 }, () => rng.int(3) - 1);
    for (const t of ['TQ2_0', 'TQ1_0'] as const) expect(decodeGgml(t, encodeGgml(t, ternary), 512)).toEqual(ternary);
  });
});

describe('GGUF files', () => {
  it('reads a file written by llama.cpp gguf-py: every metadata type, every tensor type', async () => {
    const h = await readGgufHeader(REFERENCE);
    expect(h.version).toBe(3);
    expect(h.alignment).toBe(32);
    const m = Object.fromEntries(h.metadata);
    expect(m['general.architecture']).toEqual({ type: 'string', value: 'bitnet' });
    expect(m['t.u8']).toEqual({ type: 'u8', value: 200 });
    expect(m['t.i8']).toEqual({ type: 'i8', value: -100 });
    expect(m['t.u16']).toEqual({ type: 'u16', value: 60000 });
    expect(m['t.i16']).toEqual({ type: 'i16', value: -30000 });
    expect(m['t.u32']).toEqual({ type: 'u32', value: 4000000000 });
    expect(m['t.i32']).toEqual({ type: 'i32', value: -2000000000 });
    expect(m['t.f32']).toEqual({ type: 'f32', value: 1.5 });
    expect(m['t.bool']).toEqual({ type: 'bool', value: true });
    expect(m['t.str']).toEqual({ type: 'string', value: 'héllo ✓' });
    expect(m['t.u64']).toEqual({ type: 'u64', value: 2n ** 40n + 3n });
    expect(m['t.i64']).toEqual({ type: 'i64', value: -(2n ** 40n) });
    expect(m['t.f64']).toEqual({ type: 'f64', value: 3.141592653589793 });
    expect(m['t.arr_str']).toEqual({ type: 'array', itemType: 'string', values: ['<unk>', 'a', 'bc'] });
    expect(m['t.arr_i32']).toEqual({ type: 'array', itemType: 'i32', values: Int32Array.from([1, -2, 3]) });
    expect(h.tensors.map((t) => [t.name, t.type, t.dims])).toEqual([
      ['f32', 'F32', [256, 3]],
      ['f16', 'F16', [64, 2]],
      ['bf16', 'BF16', [256, 2]],
      ['q8_0', 'Q8_0', [256, 2]],
      ['tq2_0', 'TQ2_0', [512, 2]],
      ['tq1_0', 'TQ1_0', [512, 2]],
    ]);
    for (const t of h.tensors) expect([...(await readGgufTensor(REFERENCE, t))], t.name).toEqual(referenceValues[t.name]?.values.map(Math.fround));
  });

  it('writes byte for byte what gguf-py wrote, from the same metadata and tensors', async () => {
    const h = await readGgufHeader(REFERENCE);
    const out = join(await tmp(), 'again.gguf');
    await writeGguf(out, {
      metadata: [...h.metadata],
      tensors: await Promise.all(
        h.tensors.map(async (t) => {
          const bytes = await readGgufTensorBytes(REFERENCE, t);
          return { name: t.name, dims: t.dims, type: t.type, data: () => bytes };
        }),
      ),
    });
    expect(hex(new Uint8Array(await readFile(out)))).toBe(hex(new Uint8Array(readFileSync(REFERENCE))));
  });

  it('honours general.alignment, pads each tensor, and round-trips every type', async () => {
    const dir = await tmp();
    const rng = new SeededRandom(8);
    const ternary = Float32Array.from({ length: 512 }, () => rng.int(3) - 1);
    const floats = Float32Array.from({ length: 96 }, () => rng.normal());
    const path = join(dir, 'aligned.gguf');
    await writeGguf(path, {
      metadata: [
        ['general.architecture', gguf.str('test')],
        ['general.alignment', gguf.u32(64)],
        ['x.bools', gguf.array('bool', [true, false])],
      ],
      tensors: [
        { name: 'a', dims: [96], type: 'F32', data: () => encodeGgml('F32', floats) },
        { name: 'b', dims: [256, 2], type: 'TQ2_0', data: () => encodeGgml('TQ2_0', ternary) },
        { name: 'c', dims: [256, 2], type: 'TQ1_0', data: () => encodeGgml('TQ1_0', ternary) },
      ],
    });
    const h = await readGgufHeader(path);
    expect(h.alignment).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    expect(h.tensors.map((t) => (t.offset - h.dataOffset) % 64)).toEqual([0, 0, 0]);
    expect(await readGgufTensor(path, h.tensors[0]!)).toEqual(floats);
    expect(await readGgufTensor(path, h.tensors[1]!)).toEqual(ternary);
    expect(await readGgufTensor(path, h.tensors[2]!)).toEqual(ternary);
    expect(h.metadata.get('x.bools')).toEqual({ type: 'array', itemType: 'bool', values: Uint8Array.from([1, 0]) });
  });

  it('rejects bad tensors when writing, and leaves no file behind', async () => {
    const dir = await tmp();
    await expect(
      writeGguf(join(dir, 'x.gguf'), { metadata: [], tensors: [{ name: 'x', dims: [100], type: 'TQ2_0', data: () => new Uint8Array(0) }] }),
    ).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    await expect(
      writeGguf(join(dir, 'y.gguf'), { metadata: [], tensors: [{ name: 'y', dims: [32], type: 'F32', data: () => new Uint8Array(3) }] }),
    ).rejects.toThrow(/produced 3 bytes/);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('corrupt and hostile GGUF files', () => {
  const good = new Uint8Array(readFileSync(REFERENCE));
  const patch = (offset: number, bytes: number[]): Uint8Array => {
    const b = good.slice();
    b.set(bytes, offset);
    return b;
  };
  const u64 = (v: bigint): number[] => [...new Uint8Array(new BigUint64Array([v]).buffer)];

  async function expectCorrupt(bytes: Uint8Array, message: RegExp): Promise<void> {
    const path = join(await tmp(), 'bad.gguf');
    await writeFile(path, bytes);
    const error = await readGgufHeader(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BitNetError);
    expect((error as BitNetError).code).toBe('CORRUPT_FILE');
    expect((error as BitNetError).message).toMatch(message);
    expect(typeof (error as BitNetError).offset).toBe('number');
  }

  it.each([
    ['a wrong magic', () => patch(0, [0x47, 0x47, 0x55, 0x47]), /magic/],
    ['an unknown version', () => patch(4, [9, 0, 0, 0]), /version 9/],
    ['truncated in the header', () => good.slice(0, 40), /past the end/],
    ['truncated in the data', () => good.slice(0, good.length - 100), /past the end/],
    ['an absurd tensor count', () => patch(8, u64(1n << 40n)), /exceed the limit/],
    ['an absurd metadata count', () => patch(16, u64(1n << 40n)), /exceed the limit/],
    ['a 64-bit count beyond 2^53', () => patch(16, u64(1n << 62n)), /absurd/],
  ])('%s', async (_name, make, message) => {
    await expectCorrupt(make(), message);
  });

  /** A two-tensor file and where tensor 'b''s type id and offset sit in it. */
  async function twoTensors(): Promise<{ bytes: Uint8Array; typeAt: number; offsetAt: number }> {
    const path = join(await tmp(), 'two.gguf');
    await writeGguf(path, {
      metadata: [['general.architecture', gguf.str('t')]],
      tensors: [
        { name: 'a', dims: [64], type: 'F32', data: () => new Uint8Array(256) },
        { name: 'b', dims: [64], type: 'F32', data: () => new Uint8Array(256) },
      ],
    });
    const bytes = new Uint8Array(readFileSync(path));
    // tensor info of 'b': u64 name length 1, 'b', u32 n_dims 1, u64 dim, u32 type, u64 offset
    let at = -1;
    for (let i = 0; i < bytes.length - 9; i++) if (bytes[i] === 1 && bytes[i + 8] === 0x62 && bytes[i + 9] === 1) at = i;
    return { bytes, typeAt: at + 9 + 4 + 8, offsetAt: at + 9 + 4 + 8 + 4 };
  }

  it('rejects an unknown tensor type and overlapping tensors, naming the offset', async () => {
    const { bytes, typeAt, offsetAt } = await twoTensors();
    const unknown = bytes.slice();
    unknown.set([99, 0, 0, 0], typeAt);
    await expectCorrupt(unknown, /ggml type 99/);
    const overlap = bytes.slice();
    overlap.set(u64(128n), offsetAt);
    await expectCorrupt(overlap, /overlaps/);
    const past = bytes.slice();
    past.set(u64(1n << 20n), offsetAt);
    await expectCorrupt(past, /past the end/);
  });

  it('survives fuzzing: byte flips and truncations give a header or a BitNetError, never a crash or a hang', async () => {
    const rng = new SeededRandom(11);
    const dir = await tmp();
    let rejected = 0;
    for (let i = 0; i < 150; i++) {
      const b = good.slice(0, i % 4 === 0 ? rng.int(good.length) : good.length);
      for (let f = 0; f < 1 + rng.int(3); f++) if (b.length > 0) b[rng.int(Math.min(b.length, 700))] = rng.int(256);
      const path = join(dir, `f${i}.gguf`);
      await writeFile(path, b);
      try {
        const h = await readGgufHeader(path);
        for (const t of h.tensors) await readGgufTensor(path, t);
      } catch (e) {
        expect(e).toBeInstanceOf(BitNetError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(30);
  });

  it('knows the ggml type table of REFERENCE.md §3-4: ids, weights and bytes per block', () => {
    expect(GGML_TYPES).toEqual({
      F32: { id: 0, blockSize: 1, typeSize: 4 },
      F16: { id: 1, blockSize: 1, typeSize: 2 },
      Q8_0: { id: 8, blockSize: 32, typeSize: 2 + 32 },
      BF16: { id: 30, blockSize: 1, typeSize: 2 },
      TQ1_0: { id: 34, blockSize: 256, typeSize: 48 + 4 + 2 },
      TQ2_0: { id: 35, blockSize: 256, typeSize: 64 + 2 },
    });
  });
});

describe('GGUF data offset', () => {
  it('is the header end rounded up to the alignment, also when the header ends exactly on it (every residue mod 32)', async () => {
    const dir = await tmp();
    const values = Float32Array.from({ length: 32 }, (_, i) => i - 15.5);
    const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');
    const residues = new Set<number>();
    for (let length = 0; length < 40; length++) {
      const text = 'x'.repeat(length);
      const path = join(dir, `pad-${length}.gguf`);
      await writeGguf(path, {
        metadata: [['general.name', gguf.str(text)]],
        tensors: [{ name: 'w', dims: [32], type: 'F32', data: () => encodeGgml('F32', values) }],
      });
      // GGUF v3 layout: magic, version, tensor count, kv count; key (u64 length + bytes), value type, string (u64 + bytes);
      // tensor info: name, n_dims, dims (u64 each), type, offset
      const headerEnd = 4 + 4 + 8 + 8 + (8 + utf8('general.name') + 4 + 8 + length) + (8 + utf8('w') + 4 + 8 + 4 + 8);
      residues.add(headerEnd % 32);
      const h = await readGgufHeader(path);
      expect(h.dataOffset, `metadata string of ${length} bytes`).toBe(Math.ceil(headerEnd / 32) * 32);
      expect(h.fileSize).toBe(h.dataOffset + values.length * 4);
      expect(await readGgufTensor(path, h.tensors[0] as (typeof h.tensors)[number])).toEqual(values);
    }
    expect(residues.size).toBe(32);
  });
});
