import { BitNetError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { SAFETENSORS_DTYPES, type SafetensorsDtype } from './dtypes.js';

export interface SafetensorsInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Little-endian bytes, or a typed array of the dtype's width (F32: Float32Array, U8: Uint8Array, ...). */
  data: Uint8Array | Float32Array | Int8Array | Int32Array | Uint16Array | Int16Array | Float64Array;
}

function asBytes(data: SafetensorsInput['data']): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Serializes tensors to safetensors bytes: u64 header length, JSON header (8-byte aligned with
 * spaces, as the reference writer pads), then the data in the header's order (sorted by name).
 */
export function serializeSafetensors(tensors: Record<string, SafetensorsInput>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as SafetensorsInput;
    const bytes = asBytes(t.data).byteLength;
    const expected = t.shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPES[t.dtype];
    if (bytes !== expected) {
      throw new BitNetError('INVALID_SHAPE', `tensor '${name}' has ${bytes} bytes but ${t.dtype}${JSON.stringify(t.shape)} needs ${expected}`, {
        field: name,
      });
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((Buffer.byteLength(json) + 8) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const name of names) {
    const bytes = asBytes((tensors[name] as SafetensorsInput).data);
    out.set(bytes, cursor);
    cursor += bytes.length;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: Record<string, SafetensorsInput>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
