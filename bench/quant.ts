import { quantizeActivations } from '../src/quant/activation.js';
import { packHfWeights, packTernary2, packTernaryBase3 } from '../src/quant/pack.js';
import { quantizeWeights } from '../src/quant/weight.js';
import { randomNormalArray } from '../src/util/random.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { machine, time, writeResult, type Timing } from './lib.js';

const ROWS = 4096;
const COLS = 4096;

/** The floor every absmean/absmax quantizer pays: one pass reading the matrix. */
function absSum(data: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += Math.abs(data[i] as number);
  return sum;
}

export async function benchQuant(): Promise<void> {
  const n = ROWS * COLS;
  const weights = randomNormalArray(n, 1, 0.02);
  const acts = randomNormalArray(n, 2, 1);
  const ternary = quantizeWeights(weights, [ROWS, COLS]).values;
  const cases: [string, () => unknown][] = [
    ['baseline: one read pass (sum |x|)', () => absSum(weights)],
    ['weights absmean, per tensor', () => quantizeWeights(weights, [ROWS, COLS])],
    ['weights absmean, group 128', () => quantizeWeights(weights, [ROWS, COLS], { groupSize: 128 })],
    ['activations absmax int8, per token', () => quantizeActivations(acts, [ROWS, COLS])],
    ['activations absmax int8, per tensor', () => quantizeActivations(acts, [ROWS, COLS], { scope: 'tensor' })],
    ['pack 2-bit (TQ2_0 order)', () => packTernary2(ternary, [ROWS, COLS])],
    ['pack base-3 (TQ1_0 order)', () => packTernaryBase3(ternary, [ROWS, COLS])],
    ['pack HF (dim 0)', () => packHfWeights(ternary, [ROWS, COLS])],
  ];
  const results: { name: string; timing: Timing; melemPerS: number; ratioToBaseline: number }[] = [];
  let baseline = 0;
  for (const [name, fn] of cases) {
    const timing = time(fn, { minRuns: 5, minMs: 1500 });
    if (baseline === 0) baseline = timing.medianMs;
    results.push({ name, timing, melemPerS: n / timing.medianMs / 1e3, ratioToBaseline: timing.medianMs / baseline });
  }
  const header = ['4096x4096 (16.8M elements)', 'median ms', 'M elem/s', 'x baseline pass'];
  const rows = results.map((r) => [r.name, r.timing.medianMs.toFixed(1), r.melemPerS.toFixed(0), r.ratioToBaseline.toFixed(2)]);
  console.log('\nQuantization throughput (single thread, pure TypeScript)');
  console.log(formatTable([header, ...rows]));
  const json = { bench: 'quant', shape: [ROWS, COLS], machine: machine(), date: new Date().toISOString(), results };
  await writeResult('quant.json', `${JSON.stringify(json, null, 2)}\n`);
  await writeResult('quant.md', `# Quantization throughput\n\n${formatMarkdownTable([header, ...rows])}\n`);
}
