import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The compiled child script (tests import this module from source; the child always runs from dist/). */
const WORKER = compiled('worker.js');

function compiled(file: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, file)) ? join(here, file) : join(here, '..', 'dist', 'fuzz', file);
}

export interface FuzzOptions {
  targets: readonly string[];
  /** Cases per target. */
  cases: number;
  seed: number;
  /** A case that runs longer is a hang. */
  caseTimeoutMs: number;
  /** Where the seed corpus and the cases are written. */
  workDir: string;
}

export interface Finding {
  target: string;
  case: number;
  kind: 'crash' | 'hang' | 'died';
  message: string;
}

export interface TargetSummary {
  target: string;
  cases: number;
  ok: number;
  typed: number;
  codes: Record<string, number>;
  crashes: number;
  hangs: number;
  slowestMs: number;
  largestInput: number;
  /** Peak resident memory of the worker beyond its size after setup, in MB. */
  peakGrowthMb: number;
  /** The case that raised the peak most. */
  peakCase: number;
  /** tfjs tensors alive after the last case beyond those after the first (leaks). */
  tensorGrowth: number;
}

interface Line {
  ready?: boolean;
  start?: number;
  i?: number;
  kind?: 'ok' | 'typed' | 'crash';
  code?: string;
  message?: string;
  ms?: number;
  bytes?: number;
  rss?: number;
  tensors?: number;
}

/** Runs cases [from, to) in one worker until it ends, hangs or dies; returns the index to resume at. */
function runWorker(target: string, o: FuzzOptions, from: number, onLine: (l: Line) => void, onFinding: (f: Finding) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=2048', WORKER, target, o.workDir, String(o.seed), String(from), String(o.cases)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let current = from;
    let running = false;
    let timer: NodeJS.Timeout | undefined;
    let stderr = '';
    let hung = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    // setup (imports, corpus) is not a case: a generous limit
    arm(Math.max(120_000, o.caseTimeoutMs));
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        return;
      }
      if (line.start !== undefined) {
        current = line.start;
        running = true;
        arm(o.caseTimeoutMs);
      } else if (line.i !== undefined) {
        running = false;
        current = line.i + 1;
        clearTimeout(timer);
      }
      onLine(line);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (hung && running) onFinding({ target, case: current, kind: 'hang', message: `no answer within ${o.caseTimeoutMs} ms` });
      else if (code !== 0 || hung) onFinding({ target, case: current, kind: 'died', message: `worker ${signal ?? `exit ${code}`}: ${stderr.slice(-1500)}` });
      resolve(running || hung || code !== 0 ? current + 1 : o.cases);
    });
  });
}

/** Runs every target's cases, each target in its own worker process (restarted after a hang or death). */
export async function runFuzz(o: FuzzOptions, progress: (s: TargetSummary) => void = () => {}): Promise<{ summaries: TargetSummary[]; findings: Finding[] }> {
  const summaries: TargetSummary[] = [];
  const findings: Finding[] = [];
  for (const target of o.targets) {
    const s: TargetSummary = {
      target,
      cases: 0,
      ok: 0,
      typed: 0,
      codes: {},
      crashes: 0,
      hangs: 0,
      slowestMs: 0,
      largestInput: 0,
      peakGrowthMb: 0,
      peakCase: -1,
      tensorGrowth: 0,
    };
    let baseRss = 0;
    let firstTensors: number | undefined;
    const onLine = (l: Line): void => {
      if (l.ready === true) baseRss = l.rss ?? 0;
      if (l.i === undefined) return;
      s.cases++;
      if (l.kind === 'ok') s.ok++;
      if (l.kind === 'typed') {
        s.typed++;
        s.codes[l.code ?? '?'] = (s.codes[l.code ?? '?'] ?? 0) + 1;
      }
      if (l.kind === 'crash') {
        s.crashes++;
        findings.push({ target, case: l.i, kind: 'crash', message: l.message ?? '' });
      }
      s.slowestMs = Math.max(s.slowestMs, l.ms ?? 0);
      s.largestInput = Math.max(s.largestInput, l.bytes ?? 0);
      const growth = ((l.rss ?? 0) - baseRss) / 1024;
      if (growth > s.peakGrowthMb) [s.peakGrowthMb, s.peakCase] = [growth, l.i];
      firstTensors ??= l.tensors;
      s.tensorGrowth = (l.tensors ?? 0) - (firstTensors ?? 0);
    };
    const onFinding = (f: Finding): void => {
      findings.push(f);
      s.cases++;
      if (f.kind === 'hang') s.hangs++;
      else s.crashes++;
    };
    for (let from = 0; from < o.cases;) from = await runWorker(target, o, from, onLine, onFinding);
    s.peakGrowthMb = Math.round(s.peakGrowthMb);
    summaries.push(s);
    progress(s);
  }
  return { summaries, findings };
}
