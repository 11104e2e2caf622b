import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { registerLayers } from '../nn/register.js';
import { confinedFile } from '../util/confined-path.js';
import { readJsonObject } from '../util/json-file.js';
import { buildWithinBudget, checkTopology, checkWeightSpecs } from './tfjs-topology.js';
import { writeFileSynced } from '../util/atomic-write.js';
import { crashWindow } from '../util/crash-window.js';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function toPath(dirOrUrl: string): string {
  return dirOrUrl.startsWith('file://') ? fileURLToPath(dirOrUrl) : resolve(dirOrUrl);
}

/** Replaces `dir` with a folder written elsewhere first, so a reader never sees it half-written. */
async function replaceDirectory(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tag = randomBytes(6).toString('hex');
  const tmp = join(dirname(dir), `.${basename(dir)}.${tag}.tmp`);
  const old = join(dirname(dir), `.${basename(dir)}.${tag}.old`);
  try {
    await mkdir(tmp, { recursive: true });
    await write(tmp);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    if (existed) await rename(dir, old);
    crashWindow(`replace:${basename(dir)}`);
    await rename(tmp, dir);
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true });
    throw cause instanceof BitNetError ? cause : new BitNetError('IO_ERROR', `could not write ${dir}: ${(cause as Error).message}`, { cause });
  }
}

/** Reads model.json and its weights, checking the manifest, the graph and the byte counts. */
async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = readJsonObject(jsonPath) as unknown as tf.io.ModelJSON;
  } catch (cause) {
    if (cause instanceof BitNetError && cause.code === 'FILE_NOT_FOUND') {
      throw new BitNetError('FILE_NOT_FOUND', `no ${jsonPath}`, {
        field: 'path',
        hint: 'point at a folder saved by saveModel (model.json + weights.bin)',
        cause,
      });
    }
    throw cause;
  }
  if (!Array.isArray(modelJson.weightsManifest)) {
    throw new BitNetError('CORRUPT_FILE', `${jsonPath} has no weightsManifest`, { field: 'weightsManifest' });
  }
  checkTopology(modelJson.modelTopology, jsonPath);
  const buffers: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const [g, group] of (modelJson.weightsManifest as unknown[]).entries()) {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !Array.isArray(weights)) {
      throw new BitNetError('CORRUPT_FILE', `${jsonPath}: weightsManifest[${g}] needs paths and weights arrays`, { field: `weightsManifest[${g}]` });
    }
    for (const [p, path] of paths.entries()) buffers.push(await readFile(confinedFile(dir, path as string, `weightsManifest[${g}].paths[${p}]`)));
    specs.push(...(weights as tf.io.WeightsManifestEntry[]));
  }
  const expected = checkWeightSpecs(specs, jsonPath);
  const total = buffers.reduce((n, b) => n + b.length, 0);
  if (expected.bytes !== total) {
    throw new BitNetError('CORRUPT_FILE', `weights hold ${total} bytes but the manifest needs ${expected.bytes}`, {
      offset: Math.min(total, expected.bytes),
    });
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.length;
  }
  return tf.io.getModelArtifactsForJSON(modelJson, () => Promise.resolve([specs, weightData.buffer]));
}

/**
 * A tfjs IOHandler that saves to and loads from a folder holding `model.json` and
 * `weights.bin` (the layout tfjs-node writes), for Node without tfjs-node.
 */
export function fileSystem(dirOrUrl: string): tf.io.IOHandler {
  const dir = toPath(dirOrUrl);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new BitNetError('UNSUPPORTED', 'binary model topologies are not supported', { field: 'modelTopology' });
      }
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
        ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
      };
      await replaceDirectory(dir, async (tmp) => {
        await writeFileSynced(join(tmp, WEIGHTS_BIN), new Uint8Array(weightData));
        await writeFileSynced(join(tmp, MODEL_JSON), JSON.stringify(modelJson));
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    load: () => loadArtifacts(dir),
  };
}

/** Saves a model to a folder (model.json + weights.bin), replacing it atomically. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystem(dir));
}

/** Loads a model saved by saveModel (or by tfjs-node) from a folder. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  registerLayers();
  const artifacts = await loadArtifacts(toPath(dir));
  const elements = (artifacts.weightSpecs ?? []).reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
  return buildWithinBudget(elements, join(toPath(dir), MODEL_JSON), () => tf.loadLayersModel(tf.io.fromMemory(artifacts)));
}

let routersRegistered = false;

/** Lets `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work, unless tfjs-node already does. */
export function registerFileRouters(): void {
  if (routersRegistered || tf.io.getSaveHandlers('file:///probe').length > 0) return;
  // tfjs routers answer null for URLs they do not handle, though IORouter's type omits it.
  const none = null as unknown as tf.io.IOHandler;
  tf.io.registerSaveRouter((url) => (typeof url === 'string' && url.startsWith('file://') ? fileSystem(url) : none));
  tf.io.registerLoadRouter((url) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return none;
    return fileSystem(url.endsWith(`/${MODEL_JSON}`) ? url.slice(0, -MODEL_JSON.length - 1) : url);
  });
  routersRegistered = true;
}
