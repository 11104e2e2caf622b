import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { formatMarkdownTable } from '../report/table.js';
import { configProblems } from '../config.js';
import { BitNetError } from '../errors.js';
import { htmlPage, htmlSection, htmlTable } from '../report/svg.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { selectBackend } from '../backend.js';
import { checkRecipeModel } from './build.js';
import { loadRecipe } from './load.js';
import { readMetrics } from './metrics.js';
import { metricsCharts } from './report.js';
import { silentReporter } from '../report/reporter.js';
import { readRunSummary, runRecipe, type RunOptions, type RunSummary } from './run.js';

const SetSchema = z.record(z.string(), z.unknown());

export const ExperimentSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    /** The recipe every run starts from, relative to this file. */
    base: z.string().min(1),
    output: z.object({ dir: z.string().min(1) }).strict(),
    /** Overrides applied to every run (`path: value`). */
    set: SetSchema.default({}),
    /** Named runs, each with its own overrides. */
    variants: z.array(z.object({ name: z.string().regex(/^[A-Za-z0-9._-]+$/), set: SetSchema }).strict()).optional(),
    /** Every combination of these values (`path: [values]`); names are built from the values. */
    grid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  })
  .strict()
  .refine((e) => e.variants !== undefined || e.grid !== undefined, { message: 'give variants or grid', path: ['variants'] });

export type Experiment = z.infer<typeof ExperimentSchema>;

export interface ExperimentRun {
  name: string;
  overrides: string[];
}

function toOverrides(set: Record<string, unknown>): string[] {
  return Object.entries(set).map(([path, value]) => `${path}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** The runs of an experiment: its variants, or the cartesian product of its grid. */
export function experimentRuns(e: Experiment): ExperimentRun[] {
  if (e.variants !== undefined) return e.variants.map((v) => ({ name: v.name, overrides: toOverrides(v.set) }));
  let runs: { name: string; set: Record<string, unknown> }[] = [{ name: '', set: {} }];
  for (const [path, values] of Object.entries(e.grid ?? {})) {
    const key = path.split('.').at(-1) ?? path;
    runs = runs.flatMap((r) => values.map((v) => ({ name: `${r.name}${r.name === '' ? '' : '_'}${key}-${String(v)}`, set: { ...r.set, [path]: v } })));
  }
  return runs.map((r) => ({ name: r.name, overrides: toOverrides(r.set) }));
}

export function loadExperiment(path: string): { experiment: Experiment; basePath: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BitNetError(missing ? 'FILE_NOT_FOUND' : 'INVALID_CONFIG', `${missing ? 'no experiment file' : 'invalid JSON in'} ${path}`, {
      field: 'experiment',
      cause,
    });
  }
  const result = ExperimentSchema.safeParse(json);
  if (!result.success) {
    const problems = configProblems(result.error);
    throw new BitNetError('INVALID_CONFIG', `invalid experiment ${path}:\n  ${problems.map((p) => `${p.path}: ${p.message}`).join('\n  ')}`, {
      field: problems[0]?.path,
    });
  }
  const basePath = resolve(dirname(path), result.data.base);
  if (!existsSync(basePath)) throw new BitNetError('INVALID_CONFIG', `base recipe ${basePath} does not exist`, { field: 'base' });
  return { experiment: result.data, basePath };
}

export interface ExperimentResult {
  name: string;
  dir: string;
  runs: RunSummary[];
}

/**
 * Runs every variant (a finished variant is reused, an interrupted one resumed), then writes
 * comparison.md / comparison.json and report.html with all runs on shared axes.
 */
export async function runExperiment(path: string, options: RunOptions & { set?: readonly string[] }): Promise<ExperimentResult> {
  const { experiment, basePath } = loadExperiment(path);
  const dir = resolve(experiment.output.dir);
  const plan = experimentRuns(experiment).map((run) => ({
    name: run.name,
    overrides: run.overrides,
    recipe: loadRecipe(basePath, {
      set: [
        ...toOverrides(experiment.set),
        ...run.overrides,
        ...(options.set ?? []),
        `output.dir=${join(dir, run.name)}`,
        `name=${experiment.name}/${run.name}`,
      ],
    }),
  }));
  // Every variant's model must build before the first one trains.
  await selectBackend(options.backend ?? plan[0]?.recipe.backend ?? 'wasm');
  for (const { name, recipe } of plan) {
    try {
      await checkRecipeModel(recipe);
    } catch (error) {
      if (error instanceof BitNetError)
        throw new BitNetError(error.code, `variant ${name}: ${error.message}`, { field: error.field, hint: error.hint, cause: error });
      throw error;
    }
  }
  await mkdir(dir, { recursive: true });
  const runs: RunSummary[] = [];
  for (const { name, recipe } of plan) {
    const done = await readRunSummary(join(dir, name));
    if (done !== undefined && done.status === 'completed' && options.overwrite !== true) {
      (options.reporter ?? silentReporter).info(`${name}: finished earlier, reusing ${join(dir, name)}`);
      runs.push(done);
      continue;
    }
    (options.reporter ?? silentReporter).info(`${name}: running`);
    const summary = await runRecipe(recipe, { ...options, resume: options.overwrite !== true });
    runs.push(summary);
    if (summary.status === 'interrupted') break;
  }
  const header = ['run', 'settings', 'status', 'steps', 'validation accuracy (%)', 'validation loss (nats)', 'deployed size (bytes)', 'training time (s)'];
  const rows = runs.map((r, i) => [
    r.name.split('/').at(-1) ?? r.name,
    plan[i]?.overrides.join(' ') || 'base recipe',
    r.status,
    String(r.steps),
    (r.test_accuracy * 100).toFixed(2),
    r.test_loss.toFixed(4),
    r.modelBytes.toLocaleString('en-US'),
    r.trainSeconds.toFixed(1),
  ]);
  await writeFileAtomic(join(dir, 'comparison.md'), `# ${experiment.name}\n\n${experiment.description ?? ''}\n\n${formatMarkdownTable([header, ...rows])}\n`);
  await writeFileAtomic(join(dir, 'comparison.json'), `${JSON.stringify({ name: experiment.name, runs }, null, 2)}\n`);
  const charts = metricsCharts(runs.map((r) => ({ name: r.name.split('/').at(-1) ?? r.name, lines: readMetrics(join(r.dir, 'metrics.jsonl')) })));
  await writeFileAtomic(
    join(dir, 'report.html'),
    htmlPage(
      `experiment: ${experiment.name}`,
      `${htmlSection('Runs', htmlTable([header, ...rows]))}\n${htmlSection('Metrics (all runs on shared axes)', charts)}`,
    ),
  );
  return { name: experiment.name, dir, runs };
}
