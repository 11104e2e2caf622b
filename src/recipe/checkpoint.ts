import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { modelLayers } from '../nn/model-layers.js';
import { BitNetError } from '../errors.js';
import { readSafetensors, type SafetensorsFile } from '../formats/safetensors/reader.js';
import { serializeSafetensors, type SafetensorsInput } from '../formats/safetensors/writer.js';
import { weightShortName } from '../nn/weights.js';
import type { LayerVariable } from '../nn/tfjs-types.js';
import { readJsonObject } from '../util/json-file.js';
import { writeError, writeFileSynced } from '../util/atomic-write.js';
import { crashWindow } from '../util/crash-window.js';

export const CHECKPOINTS = 'checkpoints';
const STATE = 'state.json';

export interface CheckpointState {
  step: number;
  epoch: number;
  optimizerStep: number;
  /** Seeds that fix the data order of every epoch. */
  dataSeed: number;
  trainSeed: number;
  recipe: string;
  time: string;
}

/** Every weight of a model keyed `<layer path>/<weight name>`: stable across processes. */
export function modelVariables(model: tf.LayersModel): Map<string, LayerVariable> {
  const out = new Map<string, LayerVariable>();
  for (const { path, layer } of modelLayers(model)) for (const w of layer.weights) out.set(`${path}/${weightShortName(w)}`, w);
  return out;
}

/** Reads asynchronously: the webgpu backend cannot read synchronously in Node. */
async function f32(t: tf.Tensor): Promise<SafetensorsInput> {
  return { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(await t.data()) };
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/**
 * Writes checkpoints/step-N/ {model.safetensors, optimizer.safetensors, state.json}: into a temp
 * folder first, renamed into place when complete, so a reader never sees a partial checkpoint.
 * Keeps the newest `keepLast`.
 */
export async function writeCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  optimizerState: Readonly<Record<string, tf.Tensor>>,
  state: CheckpointState,
  keepLast: number,
): Promise<string> {
  const root = join(runDir, CHECKPOINTS);
  const final = join(root, stepDirName(state.step));
  const tmp = join(root, `.${stepDirName(state.step)}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(tmp, { recursive: true });
  const weights: Record<string, SafetensorsInput> = {};
  for (const [key, w] of modelVariables(model)) weights[key] = await f32(w.read());
  const slots: Record<string, SafetensorsInput> = {};
  for (const [key, t] of Object.entries(optimizerState)) slots[key] = await f32(t);
  try {
    await writeFileSynced(join(tmp, 'model.safetensors'), serializeSafetensors(weights, { format: 'bitnet-quantize' }));
    await writeFileSynced(join(tmp, 'optimizer.safetensors'), serializeSafetensors(slots, { format: 'bitnet-quantize' }));
    await writeFileSynced(join(tmp, STATE), `${JSON.stringify(state, null, 2)}\n`);
  } catch (cause) {
    // a full disk must not stay full of a checkpoint that will never be complete
    await rm(tmp, { recursive: true, force: true });
    throw writeError(final, cause);
  }
  crashWindow('checkpoint:written');
  // a checkpoint of the same step is moved aside, not deleted, until the new one is in place
  const aside = join(root, `.${stepDirName(state.step)}.${randomBytes(4).toString('hex')}.old`);
  const replaced = await rename(final, aside).then(
    () => true,
    () => false,
  );
  if (replaced) crashWindow('checkpoint:aside');
  await rename(tmp, final);
  if (replaced) await rm(aside, { recursive: true, force: true });
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keepLast))) {
    // renamed out of the list first, so a kill mid-removal leaves no half checkpoint under its name
    const doomed = join(root, `.${basename(old.dir)}.${randomBytes(4).toString('hex')}.del`);
    await rename(old.dir, doomed);
    crashWindow('checkpoint:prune');
    await rm(doomed, { recursive: true, force: true });
  }
  return final;
}

/** Complete checkpoints (renamed into place, with state.json), oldest first. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  const root = join(runDir, CHECKPOINTS);
  const names = await readdir(root).catch(() => [] as string[]);
  const found: { step: number; dir: string }[] = [];
  for (const name of names) {
    const match = /^step-(\d+)$/.exec(name);
    if (match === null) continue;
    const dir = join(root, name);
    if (
      await stat(join(dir, STATE)).then(
        () => true,
        () => false,
      )
    )
      found.push({ step: Number(match[1]), dir });
  }
  return found.sort((a, b) => a.step - b.step);
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: SafetensorsFile;
  optimizer: SafetensorsFile;
}

export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const state = readJsonObject(join(dir, STATE)) as unknown as CheckpointState;
  return { dir, state, weights: await readSafetensors(join(dir, 'model.safetensors')), optimizer: await readSafetensors(join(dir, 'optimizer.safetensors')) };
}

/** Restores model weights from a checkpoint; every weight of the model must be there with its shape. */
export function restoreModelWeights(model: tf.LayersModel, file: SafetensorsFile): void {
  for (const [key, w] of modelVariables(model)) {
    if (!file.has(key)) throw new BitNetError('CORRUPT_FILE', `checkpoint has no weight '${key}'`, { field: key, hint: 'was it written by the same recipe?' });
    const entry = file.tensor(key);
    if (JSON.stringify(entry.shape) !== JSON.stringify(w.shape)) {
      throw new BitNetError('CORRUPT_FILE', `checkpoint weight '${key}' has shape ${JSON.stringify(entry.shape)}, the model needs ${JSON.stringify(w.shape)}`, {
        field: key,
      });
    }
    const value = tf.tensor(file.float32(key), entry.shape);
    w.write(value);
    value.dispose();
  }
}

export function optimizerTensors(file: SafetensorsFile): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const name of file.names) out[name] = tf.tensor(file.float32(name), file.tensor(name).shape);
  return out;
}
