// Issue #15, findings 1, 4 and 5: --overwrite deletes only what a run wrote and only in a folder a
// run made; a lock keeps two processes out of one run folder; writes a crash interrupted are
// repaired or removed when the folder is opened again.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { RUN_LOCK, RUN_MARKER, lockRunFolder, removeStaleTemporaries } from '../../src/recipe/run-folder.js';
import { expectBitNetError } from '../helpers/errors.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-run-folder-'));

function recipeIn(dir: string, outputDir: string): string {
  const recipe = {
    name: 'tiny',
    backend: 'cpu',
    model: { type: 'mlp', hidden: [8], layer: 'bitlinear' },
    data: { type: 'mnist', trainSize: 32, testSize: 16 },
    train: { steps: 2, batchSize: 16 },
    output: { dir: outputDir },
  };
  const file = join(dir, 'recipe.json');
  writeFileSync(file, JSON.stringify(recipe));
  return file;
}

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = captureIo();
  const code = await runCli(args, io);
  return { code, stderr: io.stderr.join('\n') };
}

describe('run folders', () => {
  it("--overwrite refuses a folder a run did not make (output.dir '.' beside the user's files)", async () => {
    const dir = mkdtempSync(join(work, 'dot-'));
    const file = recipeIn(dir, dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const first = await run(['run', file]);
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('--overwrite');
    const second = await run(['run', file, '--overwrite']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(RUN_MARKER);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(file, 'utf8')).toContain('"tiny"');
  });

  it('--overwrite of a real run removes what the run wrote and keeps the files it did not', async () => {
    const dir = mkdtempSync(join(work, 'real-'));
    const out = join(dir, 'run');
    const file = recipeIn(dir, out);
    expect((await run(['run', file])).code).toBe(0);
    expect(existsSync(join(out, RUN_MARKER))).toBe(true);
    writeFileSync(join(out, 'mine.txt'), 'keep me');
    mkdirSync(join(out, 'my-plots'));
    writeFileSync(join(out, 'checkpoints', 'user-note.txt'), 'inside a run entry: goes with it');
    expect((await run(['run', file, '--overwrite'])).code).toBe(0);
    expect(readFileSync(join(out, 'mine.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(join(out, 'my-plots'))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'user-note.txt'))).toBe(false);
    expect(existsSync(join(out, 'final', 'model.json'))).toBe(true);
    expect(existsSync(join(out, RUN_LOCK))).toBe(false);
  });

  it('a live lock keeps a second run out (exit 2, the owner named); a stale one is taken over', async () => {
    const dir = mkdtempSync(join(work, 'lock-'));
    const out = join(dir, 'run');
    mkdirSync(out);
    const file = recipeIn(dir, out);
    const release = lockRunFolder(out);
    const busy = await run(['run', file]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`process ${process.pid}`);
    expect(existsSync(join(out, 'recipe.json'))).toBe(false);
    release();
    expect(existsSync(join(out, RUN_LOCK))).toBe(false);
    // a lock left by a process that no longer exists (pids above pid_max are never live)
    writeFileSync(join(out, RUN_LOCK), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname() }));
    expect((await run(['run', file])).code).toBe(0);
    expect(existsSync(join(out, RUN_LOCK))).toBe(false);
    expectBitNetError(
      () => {
        const again = lockRunFolder(out);
        try {
          lockRunFolder(out);
        } finally {
          again();
        }
      },
      'INVALID_ARGUMENT',
      'output.dir',
    );
  });

  it('a run that fails before writing anything leaves no folder behind', async () => {
    const dir = mkdtempSync(join(work, 'fail-'));
    const out = join(dir, 'run');
    const empty = join(dir, 'not-a-checkpoint');
    mkdirSync(empty);
    const file = join(dir, 'recipe.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'hf',
        backend: 'cpu',
        model: { type: 'hf', path: empty },
        data: { type: 'text', path: file, contextLength: 8 },
        train: { steps: 1, batchSize: 1 },
        output: { dir: out },
      }),
    );
    const r = await run(['run', file]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('output.dir that is a file is a user error', async () => {
    const dir = mkdtempSync(join(work, 'file-'));
    writeFileSync(join(dir, 'taken'), 'x');
    const r = await run(['run', recipeIn(dir, join(dir, 'taken'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a file');
  });

  it('interrupted replacements are undone: a final/ moved aside comes back, temporaries go', () => {
    const dir = mkdtempSync(join(work, 'crash-'));
    mkdirSync(join(dir, '.final.0a1b2c3d4e5f.old'));
    writeFileSync(join(dir, '.final.0a1b2c3d4e5f.old', 'model.json'), '{}');
    mkdirSync(join(dir, '.final.ffeeddccbbaa.tmp'));
    writeFileSync(join(dir, '.summary.json.00ff00ff00ff.tmp'), '{');
    mkdirSync(join(dir, 'checkpoints', 'step-4'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints', '.step-8.a1b2c3d4.tmp'));
    mkdirSync(join(dir, 'checkpoints', '.step-4.a1b2c3d4.old'));
    writeFileSync(join(dir, '.user.cfg.tmp'), 'not ours');
    removeStaleTemporaries(dir);
    expect(readFileSync(join(dir, 'final', 'model.json'), 'utf8')).toBe('{}');
    expect(readdirSync(dir).sort()).toEqual(['.user.cfg.tmp', 'checkpoints', 'final']);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['step-4']);
  });
});
