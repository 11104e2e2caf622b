import { htmlDetails, htmlPage, htmlSection, htmlTable, lineChart, type ChartOptions, type Series } from '../report/svg.js';
import type { MetricLine } from './metrics.js';
import type { RunSummary } from './run.js';
import type { Recipe } from './schema.js';

interface ChartSpec {
  id: string;
  title: string;
  key: string;
  yLabel: string;
  scale?: number;
  right?: ChartOptions['right'];
}

const perplexityAxis: ChartOptions['right'] = { label: 'perplexity = e^loss', tick: (y) => String(Number(Math.exp(y).toPrecision(3))) };

/** The charts of a report: each metric on its own axis, with its unit. */
function chartSpecs(languageModel: boolean): ChartSpec[] {
  const per = languageModel ? 'nats per token' : 'nats per example';
  return [
    { id: 'train-loss', title: 'Training loss', key: 'loss', yLabel: `cross-entropy (${per})`, ...(languageModel ? { right: perplexityAxis } : {}) },
    {
      id: 'validation-loss',
      title: 'Validation loss',
      key: 'test_loss',
      yLabel: `cross-entropy (${per})`,
      ...(languageModel ? { right: perplexityAxis } : {}),
    },
    { id: 'validation-bits-per-byte', title: 'Validation bits per byte', key: 'test_bits_per_byte', yLabel: 'bits per UTF-8 byte' },
    {
      id: 'validation-accuracy',
      title: languageModel ? 'Validation next-token accuracy' : 'Validation accuracy',
      key: 'test_accuracy',
      yLabel: 'accuracy (%)',
      scale: 100,
    },
    { id: 'learning-rate', title: 'Learning rate', key: 'lr', yLabel: 'learning rate (per step)' },
    { id: 'quantization-lambda', title: 'Quantization lambda', key: 'lambda', yLabel: 'lambda (0 full precision, 1 ternary)' },
    { id: 'throughput', title: 'Throughput', key: 'samples_per_s', yLabel: languageModel ? 'windows per second' : 'examples per second' },
  ];
}

function series(name: string, lines: readonly MetricLine[], key: string, scale = 1): Series {
  return { name, points: lines.filter((l) => typeof l[key] === 'number').map((l) => [l.step, (l[key] as number) * scale]) };
}

const isLanguageModel = (lines: readonly MetricLine[]): boolean => lines.some((l) => typeof l.test_bits_per_byte === 'number' || typeof l.sample === 'number');

/** Charts of one or more runs on shared axes; a metric no run logged gets no chart. */
export function metricsCharts(runs: readonly { name: string; lines: readonly MetricLine[] }[]): string {
  const languageModel = runs.some((r) => isLanguageModel(r.lines));
  const charts = chartSpecs(languageModel)
    .map((spec) => ({ spec, data: runs.map((r) => series(r.name, r.lines, spec.key, spec.scale)) }))
    .filter(({ data }) => data.some((s) => s.points.length > 0))
    .map(({ spec, data }) =>
      lineChart(spec.title, data, { id: spec.id, xLabel: 'optimizer step', yLabel: spec.yLabel, ...(spec.right === undefined ? {} : { right: spec.right }) }),
    );
  return `<div class="charts">${charts.join('\n')}</div>`;
}

const number = (v: number, digits = 4): string => (Number.isFinite(v) ? String(Number(v.toPrecision(digits + 2))) : '–');
const bytes = (v: number): string => `${v.toLocaleString('en-US')} (${(v / 2 ** 20).toFixed(2)} MiB)`;

/** A run summary as labeled rows with units. */
export function summaryRows(s: RunSummary): string[][] {
  const rows: [string, string | undefined][] = [
    ['status', s.status + (s.signal === undefined ? '' : ` (${s.signal})`)],
    ['backend', s.backend],
    ['optimizer steps', `${s.steps} of ${s.totalSteps}`],
    ['resumed from step', s.resumedFrom === null ? undefined : String(s.resumedFrom)],
    ['validation loss (nats)', number(s.test_loss)],
    ['validation perplexity', s.test_perplexity === undefined ? undefined : number(s.test_perplexity)],
    ['validation bits per byte', s.test_bits_per_byte === undefined ? undefined : number(s.test_bits_per_byte)],
    ['validation accuracy (%)', number(s.test_accuracy * 100)],
    ['parameters', s.parameters.toLocaleString('en-US')],
    ['deployed model size (bytes)', bytes(s.modelBytes)],
    ['training time (s)', s.trainSeconds.toFixed(1)],
    ['training throughput (tokens/s)', s.tokensPerSecond === undefined ? undefined : s.tokensPerSecond.toFixed(0)],
    ['run folder', s.dir],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined);
}

/** The hyperparameters a reader compares runs by, from the resolved recipe. */
export function hyperparameterRows(r: Recipe): string[][] {
  const t = r.train;
  const rows: [string, string][] = [
    ['model', 'path' in r.model ? `${r.model.type} (${r.model.path})` : r.model.type],
    ['data', 'path' in r.data ? `${r.data.type} (${[r.data.path].flat().join(', ')})` : r.data.type],
    ['adapters', r.adapters.length === 0 ? 'none' : r.adapters.map((a) => a.type + ('r' in a ? ` r=${a.r}` : '')).join(', ')],
    ['optimizer', `${t.optimizer.type}, weight decay ${t.optimizer.weightDecay}`],
    ['peak learning rate', String(t.lr)],
    [
      'schedule',
      Object.entries(t.schedule)
        .map(([k, v]) => (k === 'type' ? String(v) : `${k} ${String(v)}`))
        .join(', '),
    ],
    ['batch size', String(t.batchSize) + ('contextLength' in r.data ? ` x ${r.data.contextLength} tokens` : ' examples')],
    ['steps / epochs', t.steps != null ? `${t.steps} steps` : `${t.epochs ?? 5} epochs`],
    ['gradient clipping', t.gradClip === undefined ? 'off' : `global norm ${t.gradClip}`],
    [
      'quantization warm-up',
      Object.entries(r.quantWarmup)
        .map(([k, v]) => (k === 'type' ? String(v) : `${k} ${String(v)}`))
        .join(', '),
    ],
    ['distillation', r.distill == null ? 'off' : `T=${r.distill.temperature}, alpha=${r.distill.alpha}`],
    ['seed', String(t.seed)],
  ];
  return rows;
}

function sampleTable(lines: readonly MetricLine[]): string {
  const samples = lines.filter((l) => typeof l.sample === 'number');
  if (samples.length === 0) return '';
  const rows = samples.map((l) => [String(l.step), String(l.prompt ?? ''), String(l.text ?? '')]);
  return htmlSection('Samples (greedy, at each evaluation)', htmlTable([['step', 'prompt', 'generated text'], ...rows], [1, 2]));
}

export function runReport(recipe: Recipe, summary: RunSummary, lines: readonly MetricLine[]): string {
  const body = [
    htmlSection('Summary', htmlTable([['', 'value'], ...summaryRows(summary)])),
    htmlSection(
      'Hyperparameters',
      htmlTable([['', 'value'], ...hyperparameterRows(recipe)]) + htmlDetails('the resolved recipe (recipe.json)', JSON.stringify(recipe, null, 2)),
    ),
    htmlSection('Metrics', metricsCharts([{ name: recipe.name, lines }])),
    sampleTable(lines),
  ];
  return htmlPage(`run: ${recipe.name}`, body.join('\n'));
}
