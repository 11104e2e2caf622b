import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { readJsonObject } from '../util/json-file.js';
import type { Recipe } from './schema.js';

/** Fields a resumed run may change: how long it trains, how often it evaluates, logs and checkpoints, where it runs and what it exports (the folder is the one resumed). */
export const RESUMABLE_CHANGES = [
  'description',
  'backend',
  'output.dir',
  'output.export',
  'train.steps',
  'train.epochs',
  'train.evalInterval',
  'train.logInterval',
  'output.checkpointInterval',
  'output.keepLast',
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON paths where two JSON values differ (`train.lr`, `adapters[0].r`), leaves first. */
export function jsonDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonDifferences(a[k], b[k], path === '' ? k : `${path}.${k}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((v, i) => jsonDifferences(v, b[i], `${path}[${i}]`));
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

/**
 * A resume must continue the same training: the recipe may differ from the run's recipe.json only
 * in RESUMABLE_CHANGES. Checked before anything in the run folder is touched.
 */
export function checkResumeRecipe(dir: string, recipe: Recipe): void {
  const path = join(dir, 'recipe.json');
  if (!existsSync(path)) return;
  const stored = readJsonObject(path);
  const current = JSON.parse(JSON.stringify(recipe)) as unknown;
  const differing = jsonDifferences(stored, current).filter((p) => !RESUMABLE_CHANGES.includes(p));
  if (differing.length > 0) {
    throw new BitNetError('INVALID_CONFIG', `--resume: the recipe differs from the run's recipe.json at ${differing.join(', ')}`, {
      field: differing[0],
      hint: `a resumed run may change only ${RESUMABLE_CHANGES.join(', ')}; start a new run (another output.dir, or --overwrite) for the rest`,
    });
  }
}
