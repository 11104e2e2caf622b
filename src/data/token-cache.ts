import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { tokenizeRecord, type ExampleFormat, type ExampleTokenizer, type TokenizedExample } from './examples.js';
import { readRecords, type RecordFormat } from './records.js';
import { FileTokenStore, MemoryTokenStore, type TokenStore } from './token-store.js';

const CACHE_VERSION = 1;

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The cache key: every file's bytes, the tokenizer, and how records become tokens. */
export async function cacheKey(files: readonly string[], format: ExampleFormat, tokenizer: ExampleTokenizer): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`bitnet-token-cache v${CACHE_VERSION}\n${tokenizer.fingerprint}\n${JSON.stringify(format)}\n`);
  for (const file of files) hash.update(`${await fileHash(file)}\n`);
  return hash.digest('hex');
}

/** Every record tokenized, held in memory (the reference the cached, streamed path must equal). */
export async function tokenizeInMemory(
  files: readonly string[],
  kind: RecordFormat,
  format: ExampleFormat,
  tokenizer: ExampleTokenizer,
): Promise<MemoryTokenStore> {
  const examples: TokenizedExample[] = [];
  for await (const record of readRecords(files, kind)) examples.push(tokenizeRecord(record, format, tokenizer));
  return MemoryTokenStore.fromExamples(examples);
}

interface CacheMeta {
  version: number;
  key: string;
  files: string[];
  examples: number;
  tokens: number;
}

function openCache(dir: string, key: string): TokenStore | undefined {
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) return undefined;
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
  if (meta.version !== CACHE_VERSION || meta.key !== key) return undefined;
  const raw = readFileSync(join(dir, 'offsets.f64'));
  const offsets = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  if (offsets.length !== meta.examples + 1 || offsets[meta.examples] !== meta.tokens) return undefined;
  return new FileTokenStore(join(dir, 'ids.i32'), join(dir, 'mask.u8'), offsets, meta.tokens);
}

/** Streams records into the cache files (a temporary folder renamed into place when whole). */
async function writeCache(
  dir: string,
  key: string,
  files: readonly string[],
  kind: RecordFormat,
  format: ExampleFormat,
  tokenizer: ExampleTokenizer,
): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const idsFd = openSync(join(tmp, 'ids.i32'), 'w');
  const maskFd = openSync(join(tmp, 'mask.u8'), 'w');
  const offsets: number[] = [0];
  try {
    for await (const record of readRecords(files, kind)) {
      const e = tokenizeRecord(record, format, tokenizer);
      writeSync(idsFd, new Uint8Array(e.ids.buffer, e.ids.byteOffset, e.ids.byteLength));
      writeSync(maskFd, e.mask);
      offsets.push((offsets.at(-1) as number) + e.ids.length);
    }
  } catch (error) {
    closeSync(idsFd);
    closeSync(maskFd);
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  closeSync(idsFd);
  closeSync(maskFd);
  writeFileSync(join(tmp, 'offsets.f64'), new Uint8Array(Float64Array.from(offsets).buffer));
  const meta: CacheMeta = { version: CACHE_VERSION, key, files: [...files], examples: offsets.length - 1, tokens: offsets.at(-1) as number };
  writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    return true;
  } catch {
    return false;
  }
}

export interface CachedTokens {
  store: TokenStore;
  /** The cache folder read. */
  dir: string;
  /** False when this call tokenized the data (and wrote the cache). */
  reused: boolean;
}

/**
 * The tokenized data, from the cache next to the first file (`.bitnet-cache/`, or the system's
 * temporary folder when that is read-only), tokenizing into it first when the key changed.
 */
export async function cachedTokens(files: readonly string[], kind: RecordFormat, format: ExampleFormat, tokenizer: ExampleTokenizer): Promise<CachedTokens> {
  const key = await cacheKey(files, format, tokenizer);
  const first = files[0] as string;
  const beside = join(dirname(first), '.bitnet-cache');
  const root = writable(beside) ? beside : join(tmpdir(), 'bitnet-cache');
  const dir = join(root, `${basename(first)}-${key.slice(0, 16)}`);
  const cached = openCache(dir, key);
  if (cached !== undefined) return { store: cached, dir, reused: true };
  await writeCache(dir, key, files, kind, format, tokenizer);
  return { store: openCache(dir, key) as TokenStore, dir, reused: false };
}
