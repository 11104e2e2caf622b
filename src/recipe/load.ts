import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configProblems, formatIssuePath, type ConfigProblem } from '../config.js';
import { BitNetError } from '../errors.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../util/json-file.js';
import { RecipeSchema, type Recipe } from './schema.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge: objects merge key by key, everything else (arrays too) is replaced. */
export function mergeDeep(base: Json, override: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) && !otherVariant(current, value) ? mergeDeep(current, value) : value;
  }
  return out;
}

/**
 * Two variants of a discriminated object (a `schedule` of another `type`): the override replaces
 * the base's instead of merging into it, whose fields the other variant does not have.
 */
function otherVariant(base: Json, override: Json): boolean {
  return 'type' in base && 'type' in override && base.type !== override.type;
}

/** Keys that reach an object's prototype: never a recipe field. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function checkKeys(value: unknown, path: string, where: string): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkKeys(v, `${path}[${i}]`, where));
  else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key)) throw new BitNetError('INVALID_CONFIG', `${where}: '${key}' is not a recipe field`, { field: at });
      checkKeys(v, at, where);
    }
  }
}

function readJson(path: string, field: string): Json {
  let text: string;
  try {
    if (!statSync(path).isFile()) {
      throw new BitNetError('INVALID_ARGUMENT', `${path} is not a regular file`, { field, hint: 'a recipe (and what it extends) must be a JSON file' });
    }
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (cause instanceof BitNetError) throw cause;
    throw new BitNetError('FILE_NOT_FOUND', `cannot read ${path}`, { field, cause, hint: 'paths in `extends` are relative to the file that names them' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BitNetError('INVALID_CONFIG', `${path} is not valid JSON: ${(cause as Error).message}`, { field, cause });
  }
  if (!isObject(json)) throw new BitNetError('INVALID_CONFIG', `${path} must hold a JSON object`, { field });
  if (jsonDepth(json) > MAX_JSON_DEPTH) throw new BitNetError('INVALID_CONFIG', `${path} nests deeper than ${MAX_JSON_DEPTH} levels`, { field });
  checkKeys(json, '', path);
  return json;
}

/** For each key path a recipe sets (`train.lr`, `adapters[0].r`), the file (or `--set`) that set it last. */
export type KeyOrigins = Map<string, string>;

function recordOrigins(value: unknown, keys: readonly (string | number)[], origin: string, origins: KeyOrigins): void {
  if (keys.length > 0) origins.set(formatIssuePath(keys), origin);
  if (Array.isArray(value)) value.forEach((v, i) => recordOrigins(v, [...keys, i], origin, origins));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) recordOrigins(v, [...keys, k], origin, origins);
}

/** Reads a recipe file and resolves its `extends` chain (relative to each file); `origins` learns which file set each key. */
export function readRecipeJson(path: string, seen: readonly string[] = [], origins?: KeyOrigins): Json {
  const full = resolve(path);
  if (seen.includes(full)) {
    throw new BitNetError('INVALID_CONFIG', `extends cycle: ${[...seen, full].join(' -> ')}`, { field: 'extends' });
  }
  const json = readJson(full, seen.length === 0 ? 'recipe' : 'extends');
  const { extends: parent, ...own } = json;
  if (parent !== undefined && typeof parent !== 'string') throw new BitNetError('INVALID_CONFIG', '`extends` must be a path string', { field: 'extends' });
  const merged = parent === undefined ? own : mergeDeep(readRecipeJson(resolve(dirname(full), parent), [...seen, full], origins), own);
  if (origins !== undefined) recordOrigins(own, [], path, origins);
  return merged;
}

/** Parses a `--set` value: JSON when it parses, else the raw string. */
function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Applies `path=value` overrides (`train.lr=0.01`, `adapters.0.r=16`). */
export function applyOverrides(json: Json, overrides: readonly string[]): Json {
  const out = structuredClone(json);
  for (const override of overrides) {
    const eq = override.indexOf('=');
    if (eq <= 0) {
      throw new BitNetError('INVALID_ARGUMENT', `--set needs path=value, got '${override}'`, { field: 'set', hint: 'for example --set train.lr=0.002' });
    }
    const keys = override.slice(0, eq).split('.');
    const forbidden = keys.find((k) => FORBIDDEN_KEYS.has(k));
    if (forbidden !== undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `--set ${override}: '${forbidden}' is not a recipe field`, { field: 'set' });
    }
    let node: unknown = out;
    keys.forEach((key, i) => {
      const container = node as Json | unknown[];
      const last = i === keys.length - 1;
      const index = Array.isArray(container) ? Number(key) : key;
      if (Array.isArray(container) && !Number.isInteger(index)) {
        throw new BitNetError('INVALID_ARGUMENT', `--set ${override}: '${key}' is not an index of an array`, { field: 'set' });
      }
      const slot = container as Record<string | number, unknown>;
      if (last) {
        const value = parseValue(override.slice(eq + 1));
        if (jsonDepth(value) > MAX_JSON_DEPTH)
          throw new BitNetError('INVALID_ARGUMENT', `--set ${keys.join('.')}: the value nests deeper than ${MAX_JSON_DEPTH} levels`, { field: 'set' });
        try {
          checkKeys(value, keys.join('.'), `--set ${override}`);
        } catch (error) {
          throw new BitNetError('INVALID_ARGUMENT', (error as Error).message, { field: 'set' });
        }
        slot[index] = value;
      } else {
        if (typeof slot[index] !== 'object' || slot[index] === null) slot[index] = {};
        node = slot[index];
      }
    });
  }
  return out;
}

/** Problems with files a recipe names (checked after its shape is valid). */
function fileProblems(recipe: Recipe): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (recipe.model.type === 'tfjs') {
    const modelPath = recipe.model.path.endsWith('model.json') ? recipe.model.path : resolve(recipe.model.path, 'model.json');
    if (!existsSync(modelPath) && recipe.model.fallbackRecipe === undefined) {
      problems.push({ path: 'model.path', message: `no model at ${recipe.model.path} (and no fallbackRecipe to make it)` });
    }
    if (recipe.model.fallbackRecipe !== undefined && !existsSync(recipe.model.fallbackRecipe)) {
      problems.push({ path: 'model.fallbackRecipe', message: `no recipe at ${recipe.model.fallbackRecipe}` });
    }
  }
  if (recipe.model.type === 'gguf' && !existsSync(recipe.model.path)) {
    problems.push({ path: 'model.path', message: `no GGUF at ${recipe.model.path}` });
  }
  if (recipe.model.type === 'hf' && !existsSync(resolve(recipe.model.path, 'config.json'))) {
    problems.push({ path: 'model.path', message: `no HuggingFace model folder (config.json) at ${recipe.model.path}` });
  }
  if (recipe.distill?.teacher != null && !existsSync(resolve(recipe.distill.teacher, 'config.json'))) {
    problems.push({ path: 'distill.teacher', message: `no HuggingFace model folder (config.json) at ${recipe.distill.teacher}` });
  }
  if (recipe.data.type === 'text' && !existsSync(recipe.data.path)) {
    problems.push({ path: 'data.path', message: `no file at ${recipe.data.path}` });
  }
  if (recipe.data.type === 'jsonl' || recipe.data.type === 'parquet') {
    for (const key of ['path', 'validation'] as const) {
      const value = recipe.data[key];
      const files = value === undefined ? [] : typeof value === 'string' ? [value] : value;
      files.forEach((file, i) => {
        if (!existsSync(file)) problems.push({ path: typeof value === 'string' ? `data.${key}` : `data.${key}[${i}]`, message: `no file at ${file}` });
      });
    }
  }
  return problems;
}

export interface LoadRecipeOptions {
  /** `path=value` overrides applied after `extends`. */
  set?: readonly string[];
}

/**
 * Loads, merges, overrides and validates a recipe. Every problem is listed with its JSON path
 * in one BitNetError (INVALID_CONFIG). Paths other than `extends` are relative to the current directory.
 */
export function loadRecipe(path: string, options: LoadRecipeOptions = {}): Recipe {
  const origins: KeyOrigins = new Map();
  const json = applyOverrides(readRecipeJson(path, [], origins), options.set ?? []);
  for (const override of options.set ?? []) {
    const keys = override
      .slice(0, override.indexOf('='))
      .split('.')
      .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    origins.set(formatIssuePath(keys), `--set ${override}`);
  }
  return validateRecipe(json, path, origins);
}

/** Validates a merged recipe; an unknown key names the file (or --set) it came from when `origins` knows it. */
export function validateRecipe(json: unknown, source = 'recipe', origins?: KeyOrigins): Recipe {
  const result = RecipeSchema.safeParse(json);
  const problems = result.success
    ? fileProblems(result.data)
    : configProblems(result.error).map((p) => {
        const origin = p.message === 'unknown key' ? origins?.get(p.path) : undefined;
        return origin === undefined ? p : { ...p, message: `unknown key (set in ${origin})` };
      });
  if (problems.length > 0 || !result.success) {
    throw new BitNetError('INVALID_CONFIG', `invalid recipe ${source}:\n  ${problems.map((p) => `${p.path}: ${p.message}`).join('\n  ')}`, {
      field: problems[0]?.path,
      hint: 'see configs/recipe.schema.json for every field',
      cause: problems,
    });
  }
  return result.data;
}
