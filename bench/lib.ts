import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

/** Runs fn once to warm up, then until `minRuns` runs and `minMs` total have passed; returns median and min. */
export function time(fn: () => unknown, opts: { minRuns?: number; minMs?: number } = {}): Timing {
  const minRuns = opts.minRuns ?? 5;
  const minMs = opts.minMs ?? 500;
  fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)] as number, minMs: samples[0] as number, runs: samples.length };
}

export function machine(): Record<string, unknown> {
  return { node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, platform: `${process.platform}-${process.arch}` };
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

/** Writes bench/results/<name> via a temp file and rename. */
export async function writeResult(name: string, content: string): Promise<string> {
  const path = join(RESULTS_DIR, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
  return path;
}

/**
 * Writes bench/results/<name> keeping one section per machine: the section headed `## <machine>`
 * (CPU model, cores, platform) is replaced, other machines' sections stay as they were.
 */
export async function writeMachineSection(name: string, title: string, body: string, variant?: string): Promise<string> {
  const m = machine();
  const heading = `## ${String(m.cpu)}, ${String(m.cores)} cores (${String(m.platform)})${variant === undefined ? '' : `, ${variant}`}`;
  let previous = '';
  try {
    previous = await readFile(join(RESULTS_DIR, name), 'utf8');
  } catch {
    // first run
  }
  const sections = previous
    .split(/^(?=## )/m)
    .slice(1)
    .filter((s) => !s.startsWith(`${heading}\n`));
  return writeResult(name, `# ${title}\n\n${[`${heading}\n\n${body.trim()}\n`, ...sections.map((s) => `${s.trim()}\n`)].join('\n')}`);
}
