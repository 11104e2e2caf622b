import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/kernels/package-root.js';

/**
 * llama.cpp's own logits: test/interop/llama-logits.c compiled against llama.h from the llama.cpp
 * sources node-llama-cpp 3.21.1 ships (llama/gitRelease.bundle) and linked to its prebuilt
 * libllama and ggml CPU libraries (test/interop, npm --prefix test/interop ci --omit=optional).
 */
const INTEROP = (): string => join(packageRoot(), 'test', 'interop', 'node_modules');
const BINS = (): string => join(INTEROP(), '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
const BUNDLE = (): string => join(INTEROP(), 'node-llama-cpp', 'llama', 'gitRelease.bundle');

/** Whether node-llama-cpp's libraries and sources are installed in test/interop. */
export function llamaLogitsAvailable(): boolean {
  return existsSync(join(BINS(), 'libllama.v0.4.0.so')) && existsSync(BUNDLE());
}

let program: string | undefined;

/** Builds the harness once per process (git and a C compiler). */
function harness(): string {
  if (program !== undefined) return program;
  const work = mkdtempSync(join(tmpdir(), 'bitnet-llama-logits-'));
  const repo = join(work, 'llama.cpp');
  mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'fetch', '-q', BUNDLE()]);
  execFileSync('sh', ['-c', 'git -C "$1" archive FETCH_HEAD include ggml/include | tar -x -C "$1"', 'sh', repo]);
  const out = join(work, 'llama-logits');
  const libs = ['libllama.v0.4.0.so', 'libggml.v0.4.0.so', 'libggml-base.so'].map((l) => join(BINS(), l));
  const source = join(packageRoot(), 'test', 'interop', 'llama-logits.c');
  execFileSync(process.env.CC ?? 'cc', [
    '-O1',
    `-I${join(repo, 'include')}`,
    `-I${join(repo, 'ggml', 'include')}`,
    source,
    '-o',
    out,
    ...libs,
    `-Wl,-rpath,${BINS()}`,
  ]);
  program = out;
  return out;
}

/**
 * The logits llama.cpp computes (no flash attention) when it decodes the first `promptLength`
 * tokens as one batch and then each further token alone: one array per decode, `vocab` long.
 */
export function llamaCppLogits(
  gguf: string,
  tokens: readonly number[],
  promptLength: number,
  opts: { vocab: number; context: number; threads?: number },
): Float32Array[] {
  const args = [gguf, String(opts.threads ?? 2), String(opts.context), String(promptLength), ...tokens.map(String)];
  const out = execFileSync(harness(), args, { env: { ...process.env, BINS: BINS() }, maxBuffer: 1 << 30 });
  const all = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  return Array.from({ length: all.length / opts.vocab }, (_, i) => all.subarray(i * opts.vocab, (i + 1) * opts.vocab));
}
