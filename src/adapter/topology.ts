import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { modelLayers } from '../nn/model-layers.js';
import { setWeightsByName, weightShortName, weightsByName } from '../nn/weights.js';
import type { CandidateLayer } from './targets.js';

export const LINEAR_CLASSES: readonly string[] = ['Dense', 'BitLinear'];

/** One layer entry of a model config in tfjs's TypeScript form. */
export interface LayerEntry {
  className: string;
  config: tf.serialization.ConfigDict;
  name?: string;
  inboundNodes?: unknown;
}

interface ModelConfig {
  name?: string;
  layers: LayerEntry[];
  [key: string]: unknown;
}

/** Linear layers whose output reaches a model output through weight-free layers only. */
function outputHeads(model: tf.LayersModel): Set<string> {
  const heads = new Set<string>();
  for (const out of model.outputs) {
    let layer: tf.layers.Layer | undefined = out.sourceLayer;
    while (layer !== undefined) {
      if (LINEAR_CLASSES.includes(layer.getClassName()) || layer.weights.length > 0) {
        if (LINEAR_CLASSES.includes(layer.getClassName())) heads.add(layer.name);
        break;
      }
      const inbound: tf.layers.Layer[] = layer.inboundNodes[0]?.inboundLayers ?? [];
      layer = inbound.length === 1 ? inbound[0] : undefined;
    }
  }
  return heads;
}

export function candidateLayers(model: tf.LayersModel): CandidateLayer[] {
  const heads = outputHeads(model);
  return modelLayers(model).map(({ path, layer }) => ({
    path,
    className: layer.getClassName(),
    isLinear: LINEAR_CLASSES.includes(layer.getClassName()),
    isOutputHead: heads.has(path),
    layer,
  }));
}

export function findLayer(model: tf.LayersModel, path: string): tf.layers.Layer {
  const found = modelLayers(model).find((l) => l.path === path);
  if (found === undefined) throw new BitNetError('INVALID_ARGUMENT', `no layer '${path}' in model '${model.name}'`, { field: 'path' });
  return found.layer;
}

/** Copies weight values and trainable flags by weight name (tfjs orders weights by trainability). */
function copyLayer(source: tf.layers.Layer, target: tf.layers.Layer): void {
  setWeightsByName(target, weightsByName(source));
  const flags = new Map(source.weights.map((w) => [weightShortName(w), w.trainable]));
  target.trainable = source.trainable;
  for (const w of target.weights) w.trainable = flags.get(weightShortName(w)) ?? true;
}

/**
 * Rebuilds a model from its config with some layer entries replaced, then fills every
 * weight: replaced layers through `initialize`, the rest copied from the source model.
 * The source model is not modified.
 */
export function rebuildModel(
  source: tf.LayersModel,
  replace: ReadonlyMap<string, LayerEntry>,
  initialize: (path: string, layer: tf.layers.Layer) => void,
): tf.LayersModel {
  const config = structuredClone(source.getConfig()) as unknown as ModelConfig;
  for (const entry of config.layers) {
    const name = (entry.config.name as string | undefined) ?? entry.name;
    const replacement = name === undefined ? undefined : replace.get(name);
    if (replacement === undefined) continue;
    const carried = Object.fromEntries(Object.entries(entry.config).filter(([key]) => key === 'batchInputShape' || key === 'inputShape' || key === 'dtype'));
    entry.className = replacement.className;
    entry.config = { ...replacement.config, ...carried, name: name as string };
  }
  const cls = source.constructor as typeof tf.LayersModel;
  const rebuilt = cls.fromConfig(cls, config as unknown as tf.serialization.ConfigDict) as tf.LayersModel;
  const metadata = source.getUserDefinedMetadata() as object | undefined;
  if (metadata !== undefined) rebuilt.setUserDefinedMetadata(structuredClone(metadata));
  for (const { path, layer } of modelLayers(rebuilt)) {
    if (replace.has(path)) initialize(path, layer);
    else copyLayer(findLayer(source, path), layer);
  }
  return rebuilt;
}
