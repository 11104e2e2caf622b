import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic-write.js';

/** One line of metrics.jsonl: a training log line (`loss`) or an evaluation line (`test_loss`, ...). */
export interface MetricLine {
  step: number;
  [name: string]: number | string;
}

/** Appends JSON lines; each append is one short write, so a killed process leaves whole lines. */
export class MetricsLog {
  constructor(readonly path: string) {}

  append(line: MetricLine): void {
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }

  /** Drops lines past `step` (and any partial last line): what a resumed run will write again. */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readMetrics(this.path).filter((l) => l.step <= step);
    writeFileAtomicSync(this.path, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
}

export function readMetrics(path: string): MetricLine[] {
  if (!existsSync(path)) return [];
  const lines: MetricLine[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    try {
      const parsed = JSON.parse(text) as MetricLine;
      if (typeof parsed.step === 'number') lines.push(parsed);
    } catch {
      // a line cut by a kill: ignored, and dropped on resume
    }
  }
  return lines;
}
