// Hostile files that are small on disk but declare much (long arrays, many tensors, huge shapes):
// each is read in a fresh process, whose peak resident memory beyond a baseline run on a valid file
// of the same kind is compared with the file's size.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled child script (tests import this module from source; the child always runs from dist/). */
const RUNNER = compiled('amplify-run.js');

function compiled(file: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, file)) ? join(here, file) : join(here, '..', 'dist', 'fuzz', file);
}

export interface AmplifyCase {
  name: string;
  /** What the original finding measured, for the report. */
  before?: string;
  /** The operation: a CLI command on the path, or loading an adapter folder onto its base. */
  op: 'inspect' | 'generate' | 'load-adapter';
  /** Writes the hostile input under `dir`; returns its path. */
  write(dir: string, corpus: string): string;
}

function ggufArrays(path: string, itemType: number, count: number, arrays: number, item: (i: number) => Buffer): void {
  const head = Buffer.alloc(24);
  head.write('GGUF', 0);
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(BigInt(arrays), 16);
  const parts = [head];
  for (let a = 0; a < arrays; a++) {
    const e = Buffer.alloc(8 + 2 + 4 + 4 + 8);
    e.writeBigUInt64LE(2n, 0);
    e.write(`k${a}`, 8);
    e.writeUInt32LE(9, 10);
    e.writeUInt32LE(itemType, 14);
    e.writeBigUInt64LE(BigInt(count), 18);
    parts.push(e, Buffer.concat(Array.from({ length: count }, (_, i) => item(i))));
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** A safetensors file of a header's JSON text and no data. */
function safetensors(path: string, headerJson: string): void {
  const json = Buffer.from(headerJson);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json]));
}

/** A copy of a seed folder with one file's text edited; returns the copy. */
function editedCopy(seed: string, path: string, file: string, edit: (text: string) => string): string {
  cpSync(seed, path, { recursive: true });
  writeFileSync(join(path, file), edit(readFileSync(join(path, file), 'utf8')));
  return path;
}

const withJson = (text: string, fields: Record<string, unknown>): string => JSON.stringify({ ...(JSON.parse(text) as Record<string, unknown>), ...fields });

const BOOL = Buffer.from([1]);
const ONE_CHAR = (i: number): Buffer => Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 97 + (i % 26)]);

export const AMPLIFY_CASES: readonly AmplifyCase[] = [
  {
    name: 'GGUF: 5 bool arrays of 10 M items (50 MB)',
    before: '1.36 GB, 28 s',
    op: 'inspect',
    write: (dir) => {
      const path = join(dir, 'bools.gguf');
      ggufArrays(path, 7, 10_000_000, 5, () => BOOL);
      return path;
    },
  },
  {
    name: 'GGUF: 5 arrays of 1.1 M one-letter strings (50 MB)',
    op: 'inspect',
    write: (dir) => {
      const path = join(dir, 'strings.gguf');
      ggufArrays(path, 8, 1_100_000, 5, ONE_CHAR);
      return path;
    },
  },
  {
    name: 'safetensors: 99,999 empty tensors (5.8 MB header)',
    op: 'inspect',
    write: (dir) => {
      const path = join(dir, 'many.safetensors');
      const header: Record<string, unknown> = {};
      for (let i = 0; i < 99_999; i++) header[`t${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
      safetensors(path, JSON.stringify(header));
      return path;
    },
  },
  {
    name: 'safetensors: 900,000 empty tensors (53 MB header)',
    before: '1.1 GB',
    op: 'inspect',
    write: (dir) => {
      const path = join(dir, 'too-many.safetensors');
      const parts = ['{'];
      for (let i = 0; i < 900_000; i++) parts.push(`${i === 0 ? '' : ','}"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
      parts.push('}');
      safetensors(path, parts.join(''));
      return path;
    },
  },
  {
    name: 'adapter: r = 4,000,000 in adapter_config.json, rank-4 weights',
    before: '1.6 GB before the shape check',
    op: 'load-adapter',
    write: (dir, corpus) => editedCopy(join(corpus, 'adapter', 'lora'), join(dir, 'lora'), 'adapter_config.json', (t) => withJson(t, { r: 4_000_000 })),
  },
  {
    name: 'model.json: a layer of 100 M units over a 2.6 MB weights.bin',
    op: 'generate',
    write: (dir, corpus) => editedCopy(join(corpus, 'model.json', 'lm'), join(dir, 'lm'), 'model.json', (t) => t.replace('"units":512', '"units":100000000')),
  },
  {
    name: 'HF folder: vocab_size 1e9 in config.json',
    op: 'generate',
    write: (dir, corpus) => editedCopy(join(corpus, 'hf-folder', 'llama'), join(dir, 'hf'), 'config.json', (t) => withJson(t, { vocab_size: 1_000_000_000 })),
  },
];

/** The valid input of each operation, from the fuzz corpus: the baseline a case's memory is measured from. */
export function baselineInput(op: AmplifyCase['op'], corpus: string): string {
  switch (op) {
    case 'inspect':
      return join(corpus, 'safetensors', 'reference.safetensors');
    case 'load-adapter':
      return join(corpus, 'adapter', 'lora');
    case 'generate':
      return join(corpus, 'model.json', 'lm');
  }
}

export interface AmplifyResult {
  outcome: string;
  maxRssKb: number;
  ms: number;
}

/** Runs one operation in a fresh process; its outcome line and peak memory. */
export function runIsolated(op: AmplifyCase['op'], path: string, timeoutMs: number): Promise<AmplifyResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER, op, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as AmplifyResult);
      } catch {
        resolve({ outcome: `died (${signal ?? `exit ${code}`})`, maxRssKb: Number.NaN, ms: timeoutMs });
      }
    });
  });
}

/** Bytes of a file, or of every file in a folder (one level). */
export function inputBytes(path: string): number {
  const info = statSync(path);
  if (info.isFile()) return info.size;
  return sumFolder(path);
}

function sumFolder(dir: string): number {
  let total = 0;
  for (const name of [
    'adapter_config.json',
    'adapter_model.safetensors',
    'model.json',
    'weights.bin',
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // not in this kind of folder
    }
  }
  return total;
}

export interface AmplifyReport {
  name: string;
  before?: string;
  outcome: string;
  ms: number;
  inputMb: number;
  growthMb: number;
  /** Peak memory beyond the baseline, per byte of input. */
  ratio: number;
}

/** Runs every amplification case, one process at a time, against its operation's baseline. */
export async function runAmplification(dir: string, corpus: string, timeoutMs: number): Promise<AmplifyReport[]> {
  const baselines = new Map<AmplifyCase['op'], AmplifyResult>();
  const reports: AmplifyReport[] = [];
  for (const c of AMPLIFY_CASES) {
    if (!baselines.has(c.op)) baselines.set(c.op, await runIsolated(c.op, baselineInput(c.op, corpus), timeoutMs));
    const path = c.write(dir, corpus);
    const r = await runIsolated(c.op, path, timeoutMs);
    const bytes = inputBytes(path);
    const growth = Math.max(0, r.maxRssKb - (baselines.get(c.op) as AmplifyResult).maxRssKb) * 1024;
    rmSync(path, { recursive: true, force: true });
    reports.push({
      name: c.name,
      ...(c.before === undefined ? {} : { before: c.before }),
      outcome: r.outcome,
      ms: r.ms,
      inputMb: bytes / 2 ** 20,
      growthMb: growth / 2 ** 20,
      ratio: growth / bytes,
    });
  }
  return reports;
}
