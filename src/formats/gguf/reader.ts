import { regularFileSize } from '../../util/confined-path.js';
import { readExactly } from '../../util/read-exactly.js';
import { open, type FileHandle } from 'node:fs/promises';
import { BitNetError } from '../../errors.js';
import { decodeGgml, GGML_TYPES, ggmlTensorBytes, ggmlTypeById, type GgmlTypeName } from './ggml-types.js';
import { gguTypeName, type GgufArrayValues, type GgufValue } from './values.js';

/** Named limits so a hostile file cannot exhaust memory or time. */
export const GGUF_LIMITS = {
  maxTensors: 100_000,
  maxMetadata: 100_000,
  maxStringBytes: 1 << 20,
  maxArrayLength: 10_000_000,
  maxDims: 4,
  maxHeaderBytes: 1 << 30,
} as const;

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlTypeName;
  /** Absolute byte offset in the file. */
  offset: number;
  bytes: number;
  elements: number;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
  fileSize: number;
}

function corrupt(message: string, offset: number): BitNetError {
  return new BitNetError('CORRUPT_FILE', `gguf: ${message}`, { offset, hint: 'the file is damaged, truncated or not GGUF' });
}

const SCALAR_BYTES = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 } as const;
type FixedType = keyof typeof SCALAR_BYTES;

const TYPED_ARRAYS = {
  u8: Uint8Array,
  i8: Int8Array,
  bool: Uint8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  u64: BigUint64Array,
  i64: BigInt64Array,
  f64: Float64Array,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the header sequentially through a window of the file, never past its end. Values already
 * in the window are read synchronously, so a long array costs no promise per item; numeric arrays
 * are read in one piece into a typed array.
 */
class HeaderReader {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0;
  pos = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
  ) {}

  private check(n: number): void {
    if (this.pos + n > this.size) throw corrupt(`needs ${n} bytes at offset ${this.pos}, past the end of the ${this.size}-byte file`, this.pos);
    if (this.pos + n > GGUF_LIMITS.maxHeaderBytes) throw corrupt('header larger than the limit', this.pos);
  }

  private buffered(n: number): boolean {
    return this.pos >= this.start && this.pos + n <= this.start + this.buf.length;
  }

  /** Makes [pos, pos + n) readable synchronously. */
  async ensure(n: number): Promise<void> {
    this.check(n);
    if (this.buffered(n)) return;
    const len = Math.min(this.size - this.pos, Math.max(n, 1 << 16));
    this.buf = new Uint8Array(len);
    this.view = new DataView(this.buf.buffer);
    await this.file.read(this.buf, 0, len, this.pos);
    this.start = this.pos;
  }

  private skip(n: number): number {
    const at = this.pos - this.start;
    this.pos += n;
    return at;
  }

  /** A fixed-size value from the window (ensure() first). */
  fixed(type: FixedType): number | bigint | boolean {
    this.check(SCALAR_BYTES[type]);
    const at = this.skip(SCALAR_BYTES[type]);
    const v = this.view;
    switch (type) {
      case 'u8':
        return v.getUint8(at);
      case 'i8':
        return v.getInt8(at);
      case 'bool':
        return v.getUint8(at) !== 0;
      case 'u16':
        return v.getUint16(at, true);
      case 'i16':
        return v.getInt16(at, true);
      case 'u32':
        return v.getUint32(at, true);
      case 'i32':
        return v.getInt32(at, true);
      case 'f32':
        return v.getFloat32(at, true);
      case 'f64':
        return v.getFloat64(at, true);
      case 'u64':
        return v.getBigUint64(at, true);
      case 'i64':
        return v.getBigInt64(at, true);
    }
  }

  /** A u64 count from the window, refused beyond JavaScript's safe integers. */
  count(): number {
    const at = this.pos;
    const v = this.fixed('u64') as bigint;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`a 64-bit count of ${v} is absurd`, at);
    return Number(v);
  }

  async u32(): Promise<number> {
    await this.ensure(4);
    return this.fixed('u32') as number;
  }

  async u64(): Promise<number> {
    await this.ensure(8);
    return this.count();
  }

  async string(): Promise<string> {
    if (!this.buffered(8)) await this.ensure(8);
    const at = this.pos;
    const len = this.count();
    if (len > GGUF_LIMITS.maxStringBytes) throw corrupt(`a string of ${len} bytes exceeds the limit`, at);
    if (!this.buffered(len)) await this.ensure(len);
    this.check(len);
    const from = this.skip(len);
    try {
      return utf8.decode(this.buf.subarray(from, from + len));
    } catch {
      throw corrupt('a string is not valid UTF-8', at);
    }
  }

  async value(typeId: number): Promise<GgufValue> {
    const at = this.pos - 4;
    const type = gguTypeName(typeId);
    if (type === undefined) throw corrupt(`unknown metadata value type ${typeId}`, at);
    if (type === 'string') return { type, value: await this.string() };
    if (type !== 'array') {
      await this.ensure(SCALAR_BYTES[type]);
      return { type, value: this.fixed(type) } as GgufValue;
    }
    const itemAt = this.pos;
    const itemType = gguTypeName(await this.u32());
    if (itemType === undefined || itemType === 'array') throw corrupt('an array of an unknown or nested type', itemAt);
    const count = await this.u64();
    const minBytes = count * (itemType === 'string' ? 8 : SCALAR_BYTES[itemType]);
    if (count > GGUF_LIMITS.maxArrayLength) throw corrupt(`an array of ${count} items exceeds the limit`, itemAt);
    if (this.pos + minBytes > this.size)
      throw corrupt(`an array of ${count} ${itemType} items needs at least ${minBytes} bytes, past the end of the file`, itemAt);
    if (itemType === 'string') {
      const values: string[] = [];
      for (let i = 0; i < count; i++) values.push(await this.string());
      return { type: 'array', itemType, values };
    }
    return { type: 'array', itemType, values: await this.typedArray(itemType, count) };
  }

  private async typedArray(type: FixedType, count: number): Promise<GgufArrayValues> {
    const n = count * SCALAR_BYTES[type];
    this.check(n);
    const bytes = new Uint8Array(n);
    if (this.buffered(n)) bytes.set(this.buf.subarray(this.pos - this.start, this.pos - this.start + n));
    else await readExactly(this.file, bytes, this.pos);
    this.pos += n;
    if (type === 'bool') for (let i = 0; i < n; i++) bytes[i] = bytes[i] === 0 ? 0 : 1;
    return new TYPED_ARRAYS[type](bytes.buffer, 0, count);
  }
}

/** Parses and checks a GGUF header: version, counts, metadata, tensor infos, offsets and alignment. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const size = await regularFileSize(path, 'GGUF');
  const file = await open(path, 'r');
  try {
    const r = new HeaderReader(file, size);
    const magic = await r.u32();
    if (magic !== 0x46554747) throw corrupt('missing the GGUF magic', 0);
    const version = await r.u32();
    if (version !== 2 && version !== 3) throw corrupt(`version ${version} is not supported (2 or 3)`, 4);
    const tensorCount = await r.u64();
    const kvCount = await r.u64();
    if (tensorCount > GGUF_LIMITS.maxTensors) throw corrupt(`${tensorCount} tensors exceed the limit`, 8);
    if (kvCount > GGUF_LIMITS.maxMetadata) throw corrupt(`${kvCount} metadata entries exceed the limit`, 16);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = await r.string();
      metadata.set(key, await r.value(await r.u32()));
    }
    const alignValue = metadata.get('general.alignment');
    const alignment = alignValue?.type === 'u32' ? alignValue.value : 32;
    if (!(alignment > 0) || alignment % 8 !== 0) throw corrupt(`general.alignment ${alignment} is not a positive multiple of 8`, 24);
    const infos: { name: string; dims: number[]; type: GgmlTypeName; rel: number; at: number }[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const at = r.pos;
      const name = await r.string();
      const nDims = await r.u32();
      if (nDims === 0 || nDims > GGUF_LIMITS.maxDims) throw corrupt(`tensor '${name}' has ${nDims} dims`, at);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(await r.u64());
      const typeAt = r.pos;
      const typeId = await r.u32();
      const type = ggmlTypeById(typeId);
      if (type === undefined) throw corrupt(`tensor '${name}' has ggml type ${typeId}, which this reader does not know`, typeAt);
      const rel = await r.u64();
      if (rel % alignment !== 0) throw corrupt(`tensor '${name}' data offset ${rel} is not aligned to ${alignment}`, typeAt + 4);
      infos.push({ name, dims, type, rel, at });
    }
    const dataOffset = r.pos + ((alignment - (r.pos % alignment)) % alignment);
    const tensors: GgufTensorInfo[] = infos.map((t) => {
      const elements = t.dims.reduce((a, d) => a * d, 1);
      if (!Number.isSafeInteger(elements) || elements <= 0) throw corrupt(`tensor '${t.name}' has dims ${JSON.stringify(t.dims)}`, t.at);
      if ((t.dims[0] as number) % GGML_TYPES[t.type].blockSize !== 0) throw corrupt(`tensor '${t.name}' rows are not whole ${t.type} blocks`, t.at);
      const bytes = ggmlTensorBytes(t.type, elements);
      const offset = dataOffset + t.rel;
      if (offset + bytes > size) throw corrupt(`tensor '${t.name}' data [${offset}, ${offset + bytes}) runs past the end of the ${size}-byte file`, offset);
      return { name: t.name, dims: t.dims, type: t.type, offset, bytes, elements };
    });
    const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as GgufTensorInfo;
      const cur = sorted[i] as GgufTensorInfo;
      if (cur.offset < prev.offset + prev.bytes) throw corrupt(`tensor '${cur.name}' overlaps '${prev.name}'`, cur.offset);
    }
    if (new Set(tensors.map((t) => t.name)).size !== tensors.length) throw corrupt('two tensors share a name', 24);
    return { version, metadata, tensors, alignment, dataOffset, fileSize: size };
  } finally {
    await file.close();
  }
}

/** The raw bytes of one tensor. */
export async function readGgufTensorBytes(path: string, info: GgufTensorInfo): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const out = new Uint8Array(info.bytes);
    const bytesRead = await readExactly(file, out, info.offset);
    if (bytesRead !== info.bytes) throw corrupt(`tensor '${info.name}' is truncated`, info.offset + bytesRead);
    return out;
  } finally {
    await file.close();
  }
}

/** One tensor decoded to float32 (row-major, rows of dims[0]). */
export async function readGgufTensor(path: string, info: GgufTensorInfo): Promise<Float32Array> {
  return decodeGgml(info.type, await readGgufTensorBytes(path, info), info.elements);
}
