import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverrides, loadRecipe, mergeDeep, readRecipeJson } from '../../src/recipe/load.js';
import { expectBitNetError } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bitnet-load-'));
const write = (name: string, json: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(json));
  return path;
};

describe('recipe loading', () => {
  it('merges objects deeply and replaces arrays', () => {
    expect(mergeDeep({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });

  it('resolves extends chains relative to each file, with sparse overrides', () => {
    write('base.json', { backend: 'cpu', train: { lr: 0.1, batchSize: 8 }, output: { dir: 'runs/base' } });
    write('mid.json', { extends: './base.json', train: { lr: 0.2 } });
    const top = write('top.json', { extends: 'mid.json', name: 'top', model: { type: 'mlp' }, data: { type: 'mnist' } });
    const recipe = loadRecipe(top);
    expect(recipe).toMatchObject({ name: 'top', backend: 'cpu', train: { lr: 0.2, batchSize: 8 }, output: { dir: 'runs/base' } });
    expect('extends' in readRecipeJson(top)).toBe(false);
  });

  it("an object of another type replaces the base's instead of merging into it (issue #18)", () => {
    expect(mergeDeep({ s: { type: 'cosine', minRatio: 0.1, warmupSteps: 5 } }, { s: { type: 'constant' } })).toEqual({ s: { type: 'constant' } });
    expect(mergeDeep({ s: { type: 'cosine', minRatio: 0.1 } }, { s: { minRatio: 0.5 } })).toEqual({ s: { type: 'cosine', minRatio: 0.5 } });
    expect(mergeDeep({ s: { type: 'cosine', minRatio: 0.1 } }, { s: { type: 'cosine', warmupSteps: 3 } })).toEqual({
      s: { type: 'cosine', minRatio: 0.1, warmupSteps: 3 },
    });
    // a recipe on configs/shakespeare-base.json (a cosine schedule with minRatio) with a constant one
    const child = write('constant.json', {
      extends: join(process.cwd(), 'configs/shakespeare-base.json'),
      name: 'constant',
      model: { type: 'bitnet-lm' },
      train: { schedule: { type: 'constant' } },
    });
    expect(loadRecipe(child).train.schedule).toEqual({ type: 'constant', warmupSteps: 0 });
  });

  it('detects extends cycles', () => {
    write('a.json', { extends: './b.json' });
    write('b.json', { extends: './a.json' });
    expect(expectBitNetError(() => readRecipeJson(join(dir, 'a.json')), 'INVALID_CONFIG', 'extends').message).toContain('cycle');
  });

  it('applies --set overrides with JSON values and array indices', () => {
    const out = applyOverrides({ train: { lr: 1 }, adapters: [{ r: 4 }] }, ['train.lr=0.5', 'adapters.0.r=16', 'name=x', 'model.hidden=[8,8]', 'a.b.c=true']);
    expect(out).toEqual({ train: { lr: 0.5 }, adapters: [{ r: 16 }], name: 'x', model: { hidden: [8, 8] }, a: { b: { c: true } } });
    expectBitNetError(() => applyOverrides({}, ['novalue']), 'INVALID_ARGUMENT', 'set');
    expectBitNetError(() => applyOverrides({ l: [1] }, ['l.x.y=1']), 'INVALID_ARGUMENT', 'set');
  });

  // issue #15, findings 9 and 10
  it('refuses keys that reach a prototype, in --set paths, --set values and recipe files', () => {
    for (const set of ['__proto__.polluted=1', 'constructor.prototype.polluted=1', 'train.__proto__.x=1', 'a={"__proto__":{"polluted":1}}']) {
      expectBitNetError(() => applyOverrides({}, [set]), 'INVALID_ARGUMENT', 'set');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const path = join(dir, 'proto.json');
    writeFileSync(path, '{"name": "p", "train": {"__proto__": {"polluted": 1}}}');
    expectBitNetError(() => readRecipeJson(path), 'INVALID_CONFIG', 'train.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads only regular files: extends of a device or a folder is an error, not a hang', () => {
    for (const target of ['/dev/zero', dir]) {
      const top = write('dev.json', { extends: target, name: 'x' });
      expect(expectBitNetError(() => readRecipeJson(top), 'INVALID_ARGUMENT', 'extends').message).toContain('not a regular file');
    }
  });
});
