/** Minimal SVG line charts for run reports (no dependencies, no scripts). */
export interface Series {
  name: string;
  points: readonly [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

export interface ChartOptions {
  /** Stable name of the chart (the `data-chart` attribute a page check looks for). */
  id?: string;
  xLabel?: string;
  /** The left axis: what is drawn and its unit. */
  yLabel?: string;
  /** A second scale on the right axis for the same values (perplexity beside loss in nats). */
  right?: { label: string; tick: (y: number) => string };
  width?: number;
  height?: number;
}

/** A line chart of several series on shared axes, labeled, with `data-points` counting what it drew. */
export function lineChart(title: string, series: readonly Series[], opts: ChartOptions = {}): string {
  const width = opts.width ?? (opts.right === undefined ? 640 : 720);
  const height = opts.height ?? 320;
  const m = { left: 70, right: opts.right === undefined ? 150 : 200, top: 30, bottom: 40 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const attrs = `data-chart="${escapeXml(opts.id ?? title)}" data-points="${all.length}" role="img" aria-label="${escapeXml(title)}"`;
  if (all.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" ${attrs} width="${width}" height="60"><text x="10" y="30">${escapeXml(title)}: no data</text></svg>`;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x: number): number => m.left + ((x - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const py = (y: number): number => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" ${attrs} width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2 - m.right / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="#333"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="#333"/>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.left}" y1="${py(t)}" x2="${width - m.right}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 4}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) parts.push(`<text x="${px(t)}" y="${height - m.bottom + 14}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(opts.xLabel ?? 'step')}</text>`);
  const midY = (m.top + height - m.bottom) / 2;
  if (opts.yLabel !== undefined) parts.push(`<text transform="translate(14 ${midY}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);
  if (opts.right !== undefined) {
    const axisX = width - m.right;
    for (const t of niceTicks(y0, y1)) parts.push(`<text x="${axisX + 4}" y="${py(t) + 4}" fill="#666">${escapeXml(opts.right.tick(t))}</text>`);
    parts.push(`<text transform="translate(${axisX + 56} ${midY}) rotate(90)" text-anchor="middle" fill="#666">${escapeXml(opts.right.label)}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length > 0) {
      const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      if (pts.length < 30) for (const [x, y] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    const legendX = width - m.right + (opts.right === undefined ? 10 : 70);
    parts.push(`<rect x="${legendX}" y="${m.top + i * 16}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${legendX + 14}" y="${m.top + i * 16 + 9}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}td.text{text-align:left;white-space:pre-wrap;font-family:monospace}.charts{display:flex;flex-wrap:wrap;gap:1em}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body><h1>${escapeXml(title)}</h1>
${body}
</body></html>
`;
}

/** A table; `textColumns` are left-aligned, whitespace kept (generated text). */
export function htmlTable(rows: readonly (readonly string[])[], textColumns: readonly number[] = []): string {
  const [head, ...body] = rows;
  if (head === undefined) return '';
  const cell = (c: string, tag: string, i: number): string =>
    `<${tag}${tag === 'td' && textColumns.includes(i) ? ' class="text"' : ''}>${escapeXml(c)}</${tag}>`;
  const tr = (cells: readonly string[], tag: string): string => `<tr>${cells.map((c, i) => cell(c, tag, i)).join('')}</tr>`;
  return `<table>${tr(head, 'th')}${body.map((r) => tr(r, 'td')).join('')}</table>`;
}

export function htmlSection(title: string, body: string): string {
  return `<h2>${escapeXml(title)}</h2>\n${body}`;
}

/** Preformatted text (a recipe as JSON) folded under a summary line. */
export function htmlDetails(summary: string, text: string): string {
  return `<details><summary>${escapeXml(summary)}</summary><pre>${escapeXml(text)}</pre></details>`;
}
