import { htmlPage, htmlTable, lineChart, type Series } from '../report/svg.js';
import type { MetricLine } from './metrics.js';

function series(name: string, lines: readonly MetricLine[], key: string): Series {
  return { name, points: lines.filter((l) => typeof l[key] === 'number').map((l) => [l.step, l[key] as number]) };
}

/** Charts of one or more runs on shared axes: loss, test accuracy, lr and lambda over steps. */
export function metricsCharts(runs: readonly { name: string; lines: readonly MetricLine[] }[]): string {
  const one = runs.length === 1;
  const charts = [
    lineChart(
      'training loss',
      runs.map((r) => series(r.name, r.lines, 'loss')),
    ),
    lineChart(
      'test loss',
      runs.map((r) => series(r.name, r.lines, 'test_loss')),
    ),
    lineChart(
      'test accuracy',
      runs.map((r) => series(r.name, r.lines, 'test_accuracy')),
    ),
    lineChart(
      one ? 'learning rate and lambda' : 'learning rate',
      one ? [series('lr', runs[0]?.lines ?? [], 'lr'), series('lambda', runs[0]?.lines ?? [], 'lambda')] : runs.map((r) => series(r.name, r.lines, 'lr')),
    ),
  ];
  if (!one)
    charts.push(
      lineChart(
        'quantization lambda',
        runs.map((r) => series(r.name, r.lines, 'lambda')),
      ),
    );
  return `<div class="charts">${charts.join('\n')}</div>`;
}

export function runReport(name: string, summary: Record<string, unknown>, lines: readonly MetricLine[]): string {
  const rows = [['', 'value'], ...Object.entries(summary).map(([k, v]) => [k, typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v)])];
  return htmlPage(`run: ${name}`, `${htmlTable(rows)}\n${metricsCharts([{ name, lines }])}`);
}
