// The package as a user gets it: `npm pack`, then installed into a scratch project that has its
// own @tensorflow/tfjs. One copy of tfjs must load (no "already registered" warnings), and the
// package's layers must deserialize in the user's tfjs (getPeftModel + saveModel/loadModel).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

describe('the packed package in a scratch project with its own tfjs', () => {
  const work = mkdtempSync(join(tmpdir(), 'bitnet-pack-'));
  // dist/ and build/ come from `npm test` / `npm ci` (the prepare script would rebuild them)
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], root)) as PackResult[];
  const files = (packed as PackResult).files.map((f) => f.path);

  it('holds dist, adapters, the wasm and native sources, recipes, configs and the schema; no tests or fixtures', () => {
    for (const want of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'dist/adapters/index.js',
      'build/ternary.wasm',
      'src/kernels/native/ternary.c',
      'src/kernels/native/native.h',
      'scripts/build-native.mjs',
      'recipes/mnist-mlp-bitnet.json',
      'configs/recipe.schema.json',
      'adapters/README.md',
      'docs/ARCHITECTURE.md',
    ]) {
      expect(files, want).toContain(want);
    }
    expect(
      files.filter(
        (f) =>
          f.startsWith('test/') ||
          f.includes('/golden/') ||
          f.startsWith('dist/test/') ||
          f.startsWith('bench/') ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
    expect(files).not.toContain('build/ternary.node');
  });

  it("installs beside the user's @tensorflow/tfjs: one tfjs, getPeftModel, saveModel and loadModel work there", () => {
    const project = join(work, 'scratch');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
    const tfjs = pkg.devDependencies['@tensorflow/tfjs'] as string;
    npm(
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', `@tensorflow/tfjs@${tfjs}`, join(work, (packed as PackResult).filename)],
      project,
    );
    const copies = execFileSync('find', ['node_modules', '-name', 'package.json', '-path', '*@tensorflow/tfjs-core/package.json'], {
      cwd: project,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    expect(copies).toEqual(['node_modules/@tensorflow/tfjs-core/package.json']);
    writeFileSync(
      join(project, 'check.mjs'),
      `
const lines = [];
for (const k of ['log', 'warn', 'error', 'info']) { const f = console[k]; console[k] = (...a) => { lines.push(a.join(' ')); f(...a); }; }
const tf = await import('@tensorflow/tfjs');
const b = await import('bitnet-quantize');
await b.selectBackend('cpu');
const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [32], units: 16, name: 'fc1', activation: 'relu' }), tf.layers.dense({ units: 4, name: 'head' })] });
const peft = b.getPeftModel(model, { peftType: 'BITNET', targetModules: ['fc1'] });
const x = tf.randomNormal([3, 32], 0, 1, 'float32', 1);
const before = peft.model.predict(x).arraySync();
await b.saveModel(peft.model, 'saved');
const loaded = await b.loadModel('saved');
const after = loaded.predict(x).arraySync();
console.log(JSON.stringify({ result: { layer: loaded.getLayer('fc1').getClassName(), isBitLinear: loaded.getLayer('fc1') instanceof b.BitLinear, same: JSON.stringify(before) === JSON.stringify(after), registered: lines.filter((l) => /already registered|Unknown layer/.test(l)).length } }));
`,
    );
    const out = execFileSync('node', ['check.mjs'], { cwd: project, encoding: 'utf8' });
    const last = out.trim().split('\n').at(-1) as string;
    expect(JSON.parse(last)).toEqual({ result: { layer: 'BitLinear', isBitLinear: true, same: true, registered: 0 } });
  });
});
