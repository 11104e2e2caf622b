import { regularFileSize } from '../../util/confined-path.js';
import { open, type FileHandle } from 'node:fs/promises';
import { BitNetError } from '../../errors.js';
import { decodeGgml, GGML_TYPES, ggmlTensorBytes, ggmlTypeById, type GgmlTypeName } from './ggml-types.js';
import { gguTypeName, type GgufScalarType, type GgufValue } from './values.js';

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

/** Reads the header sequentially through a growing buffer, never past the file's end. */
class HeaderReader {
  private buf = new Uint8Array(0);
  private start = 0;
  pos = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
  ) {}

  private async need(n: number): Promise<DataView> {
    if (this.pos + n > this.size) throw corrupt(`needs ${n} bytes at offset ${this.pos}, past the end of the ${this.size}-byte file`, this.pos);
    if (this.pos + n > GGUF_LIMITS.maxHeaderBytes) throw corrupt('header larger than the limit', this.pos);
    if (this.pos < this.start || this.pos + n > this.start + this.buf.length) {
      const len = Math.min(this.size - this.pos, Math.max(n, 1 << 16));
      this.buf = new Uint8Array(len);
      await this.file.read(this.buf, 0, len, this.pos);
      this.start = this.pos;
    }
    const view = new DataView(this.buf.buffer, this.pos - this.start, n);
    this.pos += n;
    return view;
  }

  async u32(): Promise<number> {
    return (await this.need(4)).getUint32(0, true);
  }

  async u64(): Promise<number> {
    const at = this.pos;
    const v = (await this.need(8)).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`a 64-bit count of ${v} is absurd`, at);
    return Number(v);
  }

  async string(): Promise<string> {
    const at = this.pos;
    const len = await this.u64();
    if (len > GGUF_LIMITS.maxStringBytes) throw corrupt(`a string of ${len} bytes exceeds the limit`, at);
    const view = await this.need(len);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(view.buffer, view.byteOffset, len));
    } catch {
      throw corrupt('a string is not valid UTF-8', at);
    }
  }

  async scalar(type: GgufScalarType): Promise<number | bigint | boolean | string> {
    switch (type) {
      case 'u8':
        return (await this.need(1)).getUint8(0);
      case 'i8':
        return (await this.need(1)).getInt8(0);
      case 'bool':
        return (await this.need(1)).getUint8(0) !== 0;
      case 'u16':
        return (await this.need(2)).getUint16(0, true);
      case 'i16':
        return (await this.need(2)).getInt16(0, true);
      case 'u32':
        return (await this.need(4)).getUint32(0, true);
      case 'i32':
        return (await this.need(4)).getInt32(0, true);
      case 'f32':
        return (await this.need(4)).getFloat32(0, true);
      case 'f64':
        return (await this.need(8)).getFloat64(0, true);
      case 'u64':
        return (await this.need(8)).getBigUint64(0, true);
      case 'i64':
        return (await this.need(8)).getBigInt64(0, true);
      case 'string':
        return this.string();
    }
  }

  async value(typeId: number): Promise<GgufValue> {
    const at = this.pos - 4;
    const type = gguTypeName(typeId);
    if (type === undefined) throw corrupt(`unknown metadata value type ${typeId}`, at);
    if (type !== 'array') return { type, value: await this.scalar(type) } as GgufValue;
    const itemAt = this.pos;
    const itemType = gguTypeName(await this.u32());
    if (itemType === undefined || itemType === 'array') throw corrupt('an array of an unknown or nested type', itemAt);
    const count = await this.u64();
    if (count > GGUF_LIMITS.maxArrayLength) throw corrupt(`an array of ${count} items exceeds the limit`, itemAt);
    const values: (number | bigint | boolean | string)[] = [];
    for (let i = 0; i < count; i++) values.push(await this.scalar(itemType));
    return { type: 'array', itemType, values };
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
    const { bytesRead } = await file.read(out, 0, info.bytes, info.offset);
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
