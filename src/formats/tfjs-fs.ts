import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { registerLayers } from '../nn/register.js';
import { confinedFile } from '../util/confined-path.js';

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
    await rename(tmp, dir);
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true });
    throw cause instanceof BitNetError ? cause : new BitNetError('IO_ERROR', `could not write ${dir}: ${(cause as Error).message}`, { cause });
  }
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
        await writeFile(join(tmp, WEIGHTS_BIN), new Uint8Array(weightData));
        await writeFile(join(tmp, MODEL_JSON), JSON.stringify(modelJson));
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (cause) {
        const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
        throw new BitNetError(missing ? 'FILE_NOT_FOUND' : 'CORRUPT_FILE', `${missing ? 'no' : 'unreadable'} ${jsonPath}`, {
          field: 'path',
          hint: 'point at a folder saved by saveModel (model.json + weights.bin)',
          cause,
        });
      }
      if (typeof modelJson !== 'object' || modelJson === null || !Array.isArray(modelJson.weightsManifest)) {
        throw new BitNetError('CORRUPT_FILE', `${jsonPath} has no weightsManifest`, { field: 'weightsManifest' });
      }
      const buffers: Uint8Array[] = [];
      const specs: tf.io.WeightsManifestEntry[] = [];
      for (const [g, group] of modelJson.weightsManifest.entries()) {
        if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) {
          throw new BitNetError('CORRUPT_FILE', `${jsonPath}: weightsManifest[${g}] needs paths and weights arrays`, { field: `weightsManifest[${g}]` });
        }
        for (const [p, path] of group.paths.entries()) buffers.push(await readFile(confinedFile(dir, path, `weightsManifest[${g}].paths[${p}]`)));
        specs.push(...group.weights);
      }
      const total = buffers.reduce((n, b) => n + b.length, 0);
      const weightData = new Uint8Array(total);
      let offset = 0;
      for (const b of buffers) {
        weightData.set(b, offset);
        offset += b.length;
      }
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1) * 4, 0);
      if (specs.every((s) => s.dtype === 'float32' && s.quantization === undefined) && expected !== total) {
        throw new BitNetError('CORRUPT_FILE', `weights hold ${total} bytes but the manifest needs ${expected}`, {
          offset: Math.min(total, expected),
        });
      }
      return tf.io.getModelArtifactsForJSON(modelJson, () => Promise.resolve([specs, weightData.buffer]));
    },
  };
}

/** Saves a model to a folder (model.json + weights.bin), replacing it atomically. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystem(dir));
}

/** Loads a model saved by saveModel (or by tfjs-node) from a folder. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  registerLayers();
  return tf.loadLayersModel(fileSystem(dir));
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
