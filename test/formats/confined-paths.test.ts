// Issue #15, finding 2 (and config.json of null from finding 7): paths that model files name stay
// inside their folder and are regular files; a bad index is a typed error, not a crash.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../src/formats/gguf/reader.js';
import { openCheckpoint, readHfConfig } from '../../src/formats/hf-checkpoint.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { serializeSafetensors } from '../../src/formats/safetensors/writer.js';
import { loadModel, saveModel } from '../../src/formats/tfjs-fs.js';
import { expectBitNetError, expectBitNetErrorAsync } from '../helpers/errors.js';
import { tf, useBackend } from '../helpers/tf.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-confined-'));

async function tinyModelDir(): Promise<string> {
  const dir = mkdtempSync(join(work, 'model-'));
  const input = tf.input({ shape: [4] });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
  await saveModel(model, dir);
  model.dispose();
  return dir;
}

function pointWeightsAt(dir: string, path: string): void {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  (json.weightsManifest[0] as { paths: string[] }).paths = [path];
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
}

describe('paths named inside model files', () => {
  beforeAll(() => useBackend('cpu'));

  it('model.json weight paths may not leave the folder, name a device, a FIFO or a symlink out', async () => {
    const good = await tinyModelDir();
    (await loadModel(good)).dispose();
    const outside = join(work, 'secret.bin');
    writeFileSync(outside, Buffer.alloc(40));
    const fifo = join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, (dir: string) => void, string][] = [
      ['../secret.bin', (d) => pointWeightsAt(d, '../secret.bin'), 'outside'],
      ['../../../../../etc/passwd', (d) => pointWeightsAt(d, '../../../../../etc/passwd'), 'outside'],
      ['/dev/zero', (d) => pointWeightsAt(d, '/dev/zero'), 'a file inside'],
      ['a symlink to a file outside', (d) => (symlinkSync(outside, join(d, 'link.bin')), pointWeightsAt(d, 'link.bin')), 'outside'],
      ['a symlink to a FIFO', (d) => (symlinkSync(fifo, join(d, 'pipe.bin')), pointWeightsAt(d, 'pipe.bin')), 'outside'],
      ['a folder', (d) => (mkdirSync(join(d, 'sub.bin')), pointWeightsAt(d, 'sub.bin')), 'not a regular file'],
    ];
    for (const [, edit, message] of cases) {
      const dir = await tinyModelDir();
      edit(dir);
      const error = await expectBitNetErrorAsync(() => loadModel(dir), 'CORRUPT_FILE', 'weightsManifest[0].paths[0]');
      expect(error.message).toContain(message);
    }
  });

  it("an HF shard index's weight_map may only name shards in the checkpoint folder", async () => {
    const outside = join(work, 'outside.safetensors');
    writeFileSync(outside, serializeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, {}));
    const dir = mkdtempSync(join(work, 'hf-'));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: '../outside.safetensors' } }));
    expect((await expectBitNetErrorAsync(() => openCheckpoint(dir), 'CORRUPT_FILE', 'weight_map (../outside.safetensors)')).message).toContain('outside');
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: 7 } }));
    await expectBitNetErrorAsync(() => openCheckpoint(dir), 'CORRUPT_FILE', 'weight_map');
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{');
    await expectBitNetErrorAsync(() => openCheckpoint(dir), 'CORRUPT_FILE', 'model.safetensors.index.json');
    // inside the folder it reads; a tensor not in the map is named
    writeFileSync(join(dir, 'shard.safetensors'), readFileSync(outside));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'shard.safetensors' } }));
    const open = await openCheckpoint(dir);
    expect(open('w')).toBeDefined();
    expectBitNetError(() => open('constructor'), 'CORRUPT_FILE', 'constructor');
  });

  it('config.json of null or an array is INVALID_CONFIG', () => {
    const dir = mkdtempSync(join(work, 'cfg-'));
    for (const text of ['null', '[1]', '3']) {
      writeFileSync(join(dir, 'config.json'), text);
      expectBitNetError(() => readHfConfig(dir), 'INVALID_CONFIG', 'config.json');
    }
  });

  it('GGUF and safetensors readers refuse a FIFO or a folder by their names (finding 10: no hang)', async () => {
    const fifo = join(work, 'model.gguf');
    execFileSync('mkfifo', [fifo]);
    const folder = join(work, 'dir.gguf');
    mkdirSync(folder);
    for (const path of [fifo, folder]) {
      expect((await expectBitNetErrorAsync(() => readGgufHeader(path), 'INVALID_ARGUMENT', 'path')).message).toContain('not a regular file');
    }
    const st = join(work, 'pipe.safetensors');
    execFileSync('mkfifo', [st]);
    await expectBitNetErrorAsync(() => readSafetensors(st), 'INVALID_ARGUMENT', 'path');
  });
});
