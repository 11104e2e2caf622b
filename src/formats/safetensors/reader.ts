import { regularFileSize } from '../../util/confined-path.js';
import { readExactly } from '../../util/read-exactly.js';
import { open } from 'node:fs/promises';
import { BitNetError } from '../../errors.js';
import { halfToFloat } from '../../util/half.js';
import { isSafetensorsDtype, SAFETENSORS_DTYPES, type SafetensorsDtype } from './dtypes.js';

/** Named limits so a hostile file cannot exhaust memory or time. */
export const SAFETENSORS_LIMITS = {
  /** The reference implementation's limit on the JSON header. */
  maxHeaderBytes: 100_000_000,
  /** As GGUF's; a header of many empty tensors costs about 11x its size to parse. */
  maxTensors: 100_000,
  maxDims: 8,
} as const;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute file offset of the data section (8 + header length). */
  dataOffset: number;
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

const DATA_OFFSETS_KEY = new TextEncoder().encode('"data_offsets"');

/** How often `needle` occurs in `haystack`: an upper bound on the tensors a header declares, known before parsing it. */
function countOccurrences(haystack: Uint8Array, needle: Uint8Array): number {
  const buf = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  let count = 0;
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + needle.length)) count++;
  return count;
}

function corrupt(message: string, offset: number, hint?: string): BitNetError {
  return new BitNetError('CORRUPT_FILE', `safetensors: ${message}`, {
    offset,
    hint: hint ?? 'the file is damaged or not a safetensors file; write it again',
  });
}

/**
 * Parses and checks a safetensors header: length within the file, valid JSON, known dtypes,
 * offsets that match each shape's byte size and tile the data section without gaps or overlaps.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8 || prefix.length < 8) throw corrupt(`file of ${fileSize} bytes is too short for the 8-byte header length`, 0);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(SAFETENSORS_LIMITS.maxHeaderBytes)) {
    throw corrupt(`header length ${headerLength} exceeds the limit of ${SAFETENSORS_LIMITS.maxHeaderBytes} bytes`, 0);
  }
  const n = Number(headerLength);
  if (8 + n > fileSize) throw corrupt(`header length ${n} runs past the end of the ${fileSize}-byte file`, 0);
  if (prefix.length < 8 + n) throw corrupt('header is truncated', prefix.length);
  const headerBytes = prefix.subarray(8, 8 + n);
  const declared = countOccurrences(headerBytes, DATA_OFFSETS_KEY);
  if (declared > SAFETENSORS_LIMITS.maxTensors) throw corrupt(`${declared} tensors exceed the limit of ${SAFETENSORS_LIMITS.maxTensors}`, 8);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (cause) {
    throw corrupt(`header is not valid UTF-8 JSON (${(cause as Error).message})`, 8);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt('header is not a JSON object', 8);
  const dataOffset = 8 + n;
  const dataSize = fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  const names = Object.keys(json);
  if (names.length > SAFETENSORS_LIMITS.maxTensors + 1) throw corrupt(`${names.length} entries exceed the limit`, 8);
  for (const name of names) {
    const raw = (json as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) throw corrupt('__metadata__ must be an object of strings', 8);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw corrupt(`__metadata__.${k} must be a string`, 8);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isSafetensorsDtype(info.dtype)) {
      throw corrupt(`tensor '${name}' has unknown dtype ${JSON.stringify(info.dtype)}`, 8, `known dtypes: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.length > SAFETENSORS_LIMITS.maxDims || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`, 8);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw corrupt(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`, 8);
    }
    const [begin, end] = offsets as [number, number];
    const bytes = (shape as number[]).reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPES[info.dtype];
    if (end < begin || end - begin !== bytes) {
      throw corrupt(`tensor '${name}' spans ${end - begin} bytes but ${info.dtype}${JSON.stringify(shape)} needs ${bytes}`, dataOffset + begin);
    }
    if (end > dataSize) throw corrupt(`tensor '${name}' ends at ${dataOffset + end}, past the end of the file (${fileSize})`, dataOffset + begin);
    tensors.push({ name, dtype: info.dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of sorted) {
    if (t.begin < cursor) throw corrupt(`tensor '${t.name}' overlaps the tensor before it`, dataOffset + t.begin);
    if (t.begin > cursor) throw corrupt(`a gap of ${t.begin - cursor} bytes precedes tensor '${t.name}'`, dataOffset + cursor);
    cursor = t.end;
  }
  if (cursor !== dataSize) throw corrupt(`${dataSize - cursor} bytes after the last tensor belong to none`, dataOffset + cursor);
  return { dataOffset, tensors, metadata };
}

/** A tensor read from safetensors: raw little-endian bytes plus its description. */
export interface SafetensorsTensor extends SafetensorsEntry {
  bytes: Uint8Array;
}

export class SafetensorsFile {
  constructor(
    readonly header: SafetensorsHeader,
    private readonly data: Uint8Array,
  ) {}

  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  has(name: string): boolean {
    return this.header.tensors.some((t) => t.name === name);
  }

  tensor(name: string): SafetensorsTensor {
    const entry = this.header.tensors.find((t) => t.name === name);
    if (entry === undefined) {
      throw new BitNetError('CORRUPT_FILE', `safetensors: no tensor named '${name}'`, {
        field: name,
        hint: `the file holds: ${this.names.slice(0, 20).join(', ')}`,
      });
    }
    const start = this.header.dataOffset + entry.begin;
    return { ...entry, bytes: this.data.subarray(start, this.header.dataOffset + entry.end) };
  }

  /** The tensor as float32 (F32, F16 and BF16 are converted). */
  float32(name: string): Float32Array {
    return toFloat32(this.tensor(name));
  }
}

export function toFloat32(t: SafetensorsTensor): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const count = t.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(count);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new BitNetError('UNSUPPORTED', `safetensors: tensor '${t.name}' is ${t.dtype}; expected a float type (F32, F16, BF16)`, {
        field: t.name,
      });
  }
}

/** Reads and checks a whole safetensors file. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const size = await regularFileSize(path, 'safetensors');
  const handle = await open(path, 'r');
  try {
    const data = new Uint8Array(size);
    const bytesRead = await readExactly(handle, data, 0);
    if (bytesRead !== size) throw corrupt(`the file shrank while it was read (${bytesRead} of ${size} bytes)`, bytesRead);
    return new SafetensorsFile(parseSafetensorsHeader(data, size), data);
  } finally {
    await handle.close();
  }
}

/** Reads and checks only the header of a safetensors file (names, dtypes, shapes), not its data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const size = await regularFileSize(path, 'safetensors');
  const handle = await open(path, 'r');
  try {
    const lengthBytes = new Uint8Array(Math.min(8, size));
    await readExactly(handle, lengthBytes, 0);
    const headerLength = lengthBytes.length === 8 ? new DataView(lengthBytes.buffer).getBigUint64(0, true) : 0n;
    const prefixLength = headerLength <= BigInt(Math.min(size - 8, SAFETENSORS_LIMITS.maxHeaderBytes)) ? 8 + Number(headerLength) : 8;
    const prefix = new Uint8Array(Math.min(prefixLength, size));
    await readExactly(handle, prefix, 0);
    return parseSafetensorsHeader(prefix, size);
  } finally {
    await handle.close();
  }
}

/** Parses a safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  return new SafetensorsFile(parseSafetensorsHeader(bytes, bytes.length), bytes);
}
