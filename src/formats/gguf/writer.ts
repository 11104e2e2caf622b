import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BitNetError } from '../../errors.js';
import { GGML_TYPES, ggmlTensorBytes, type GgmlTypeName } from './ggml-types.js';
import { GGUF_VALUE_TYPES, type GgufScalarType, type GgufValue } from './values.js';

export interface GgufTensorSpec {
  /** Under 64 bytes. */
  name: string;
  /** ggml order: ne[0] (the row length) first; a PyTorch [out, in] weight is [in, out]. */
  dims: number[];
  type: GgmlTypeName;
  /** Produces the tensor's bytes when the writer reaches it (so only one tensor is in memory). */
  data: () => Uint8Array | Promise<Uint8Array>;
}

export interface GgufWriteOptions {
  metadata: [string, GgufValue][];
  tensors: GgufTensorSpec[];
}

/** Little-endian byte builder for the header. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  num(type: GgufScalarType, value: number | bigint | boolean | string): void {
    if (type === 'string') {
      const text = new TextEncoder().encode(value as string);
      this.num('u64', BigInt(text.length));
      this.push(text);
      return;
    }
    const size = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 }[type];
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    switch (type) {
      case 'u8':
        v.setUint8(0, value as number);
        break;
      case 'i8':
        v.setInt8(0, value as number);
        break;
      case 'bool':
        v.setUint8(0, value ? 1 : 0);
        break;
      case 'u16':
        v.setUint16(0, value as number, true);
        break;
      case 'i16':
        v.setInt16(0, value as number, true);
        break;
      case 'u32':
        v.setUint32(0, value as number, true);
        break;
      case 'i32':
        v.setInt32(0, value as number, true);
        break;
      case 'f32':
        v.setFloat32(0, value as number, true);
        break;
      case 'f64':
        v.setFloat64(0, value as number, true);
        break;
      case 'u64':
        v.setBigUint64(0, BigInt(value), true);
        break;
      case 'i64':
        v.setBigInt64(0, BigInt(value), true);
        break;
    }
    this.push(b);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function alignmentOf(metadata: [string, GgufValue][]): number {
  const entry = metadata.find(([k]) => k === 'general.alignment')?.[1];
  if (entry === undefined) return 32;
  if (entry.type !== 'u32' || entry.value <= 0 || entry.value % 8 !== 0) {
    throw new BitNetError('INVALID_ARGUMENT', 'general.alignment must be a u32 multiple of 8', { field: 'general.alignment' });
  }
  return entry.value;
}

const pad = (n: number, a: number): number => (a - (n % a)) % a;

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then the data section at the next
 * multiple of the alignment, each tensor padded to it. Tensor data is produced and written one
 * tensor at a time, into a temporary file renamed into place at the end.
 */
export async function writeGguf(path: string, { metadata, tensors }: GgufWriteOptions): Promise<void> {
  const alignment = alignmentOf(metadata);
  const h = new Bytes();
  h.push(new TextEncoder().encode('GGUF'));
  h.num('u32', 3);
  h.num('u64', BigInt(tensors.length));
  h.num('u64', BigInt(metadata.length));
  for (const [key, value] of metadata) {
    h.num('string', key);
    h.num('u32', GGUF_VALUE_TYPES[value.type]);
    if (value.type === 'array') {
      h.num('u32', GGUF_VALUE_TYPES[value.itemType]);
      h.num('u64', BigInt(value.values.length));
      for (const item of value.values) h.num(value.itemType, item);
    } else {
      h.num(value.type, value.value);
    }
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (new TextEncoder().encode(t.name).length >= 64)
      throw new BitNetError('INVALID_ARGUMENT', `tensor name '${t.name}' is 64 bytes or longer`, { field: t.name });
    if (t.dims.length === 0 || t.dims.length > 4)
      throw new BitNetError('INVALID_SHAPE', `tensor '${t.name}' has ${t.dims.length} dims; GGUF allows 1..4`, { field: t.name });
    const bytes = ggmlTensorBytes(
      t.type,
      t.dims.reduce((a, d) => a * d, 1),
    );
    h.num('string', t.name);
    h.num('u32', t.dims.length);
    for (const d of t.dims) h.num('u64', BigInt(d));
    h.num('u32', GGML_TYPES[t.type].id);
    h.num('u64', BigInt(offset));
    sizes.push(bytes);
    offset += bytes + pad(bytes, alignment);
  }
  h.push(new Uint8Array(pad(h.length, alignment)));
  // the folder the user names is made, as the HF and tfjs exports make theirs
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(tmp, 'w');
  try {
    await file.write(h.concat());
    for (const [i, t] of tensors.entries()) {
      const data = await t.data();
      if (data.length !== sizes[i]) {
        throw new BitNetError('INTERNAL', `tensor '${t.name}' produced ${data.length} bytes, ${t.type}${JSON.stringify(t.dims)} needs ${sizes[i]}`, {
          field: t.name,
        });
      }
      await file.write(data);
      const p = pad(data.length, alignment);
      if (p > 0) await file.write(new Uint8Array(p));
    }
    await file.close();
    await rename(tmp, path);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
}
