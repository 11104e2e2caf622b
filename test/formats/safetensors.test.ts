import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BitNetError } from '../../src/errors.js';
import { parseSafetensors, readSafetensors } from '../../src/formats/safetensors/reader.js';
import { serializeSafetensors } from '../../src/formats/safetensors/writer.js';
import { SeededRandom } from '../../src/util/random.js';
import { readGolden } from '../helpers/golden.js';

const referencePath = fileURLToPath(new URL('../golden/reference.safetensors', import.meta.url));
const reference = new Uint8Array(readFileSync(referencePath));
const referenceValues = readGolden<Record<string, { dtype: string; shape: number[]; values: number[] }>>('reference-safetensors.json');

/** A file with a hand-written header over `dataBytes` bytes of data. */
function handMade(header: Record<string, unknown>, dataBytes: number, headerLengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, headerLengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function expectCorrupt(bytes: Uint8Array, message: RegExp): BitNetError {
  let caught: unknown;
  try {
    parseSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(BitNetError);
  const error = caught as BitNetError;
  expect(error.code).toBe('CORRUPT_FILE');
  expect(error.message).toMatch(message);
  expect(typeof error.offset).toBe('number');
  return error;
}

describe('safetensors', () => {
  it('reads a file written by the reference library (F32, F16, BF16, U8, I64, scalars, metadata)', async () => {
    const file = await readSafetensors(referencePath);
    expect(file.metadata).toEqual({ format: 'pt', note: 'golden' });
    expect(file.names.sort()).toEqual(Object.keys(referenceValues).sort());
    for (const name of ['a.weight', 'a.bias', 'half', 'brain', 'scalar']) {
      const ref = referenceValues[name] as { shape: number[]; values: number[] };
      expect(file.tensor(name).shape).toEqual(ref.shape);
      expect([...file.float32(name)]).toEqual(ref.values.map(Math.fround));
    }
    expect([...file.tensor('packed').bytes]).toEqual(referenceValues.packed?.values);
    expect(new DataView(file.tensor('steps').bytes.slice().buffer).getBigInt64(0, true)).toBe(7n);
    expect(() => file.float32('packed')).toThrow(BitNetError);
  });

  it('round-trips what it writes, with an 8-byte aligned header and sorted names', () => {
    const bytes = serializeSafetensors(
      {
        'z.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, 0]) },
        'a.codes': { dtype: 'U8', shape: [3], data: new Uint8Array([0, 1, 2]) },
        'm.i8': { dtype: 'I8', shape: [2], data: new Int8Array([-1, 1]) },
      },
      { format: 'pt' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const file = parseSafetensors(bytes);
    expect(file.names).toEqual(['a.codes', 'm.i8', 'z.weight']);
    expect([...file.float32('z.weight')]).toEqual([1, -2, 3.5, 0]);
    expect([...file.tensor('a.codes').bytes]).toEqual([0, 1, 2]);
    expect([...new Int8Array(file.tensor('m.i8').bytes.slice().buffer)]).toEqual([-1, 1]);
    expect(file.metadata).toEqual({ format: 'pt' });
  });

  it('rejects data whose size does not match the shape when writing', () => {
    expect(() => serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/needs 12/);
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), /too short/],
    ['a header length past the end', handMade({}, 0, 1000n), /past the end/],
    ['an absurd header length', handMade({}, 0, 1n << 60n), /exceeds the limit/],
    [
      'a header that is not JSON',
      (() => {
        const b = handMade({}, 0);
        b[8] = 0x7b;
        b[9] = 0x7b;
        return b;
      })(),
      /not valid UTF-8 JSON/,
    ],
    ['an unknown dtype', handMade({ x: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), /unknown dtype/],
    ['a wrong dtype for the byte span', handMade({ x: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } }, 16), /needs 8/],
    ['a tensor past the end (truncated)', handMade({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /past the end/],
    [
      'overlapping tensors',
      handMade({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /overlaps/,
    ],
    ['a gap between tensors', handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /gap/],
    ['bytes belonging to no tensor', handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /belong to none/],
    ['negative offsets', handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), /invalid data_offsets/],
    ['a bad shape', handMade({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /invalid shape/],
    ['non-string metadata', handMade({ __metadata__: { a: 1 } }, 0), /must be a string/],
  ])('rejects %s with a BitNetError and an offset', (_name, bytes, message) => {
    expectCorrupt(bytes, message);
  });

  it('reports a missing file and a missing tensor clearly', async () => {
    await expect(readSafetensors('/nonexistent/x.safetensors')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const file = parseSafetensors(reference);
    expect(() => file.tensor('nope')).toThrow(/no tensor named 'nope'/);
  });

  it('survives fuzzing: random truncations and byte flips give a file or a BitNetError, never a crash', async () => {
    const rng = new SeededRandom(42);
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-st-'));
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      const mutated = reference.slice(0, i % 3 === 0 ? rng.int(reference.length) : reference.length);
      for (let f = 0; f < 1 + rng.int(4); f++) if (mutated.length > 0) mutated[rng.int(Math.min(mutated.length, 200))] = rng.int(256);
      try {
        const file = parseSafetensors(mutated);
        for (const name of file.names) file.tensor(name);
      } catch (e) {
        expect(e).toBeInstanceOf(BitNetError);
        rejected++;
      }
      if (i % 50 === 0) {
        const path = join(dir, `f${i}.safetensors`);
        await writeFile(path, mutated);
        await readSafetensors(path).catch((e: unknown) => expect(e).toBeInstanceOf(BitNetError));
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
