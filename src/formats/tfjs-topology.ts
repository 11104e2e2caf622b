import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { guardedBuild } from '../nn/guarded-build.js';

/**
 * Checks of a model.json that tfjs itself does not make before it acts on one: tfjs loops forever
 * on a layer input that names a layer (or node) that never exists, and allocates every layer's
 * weights from the topology before it compares them with the weights file.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function corrupt(path: string, field: string, message: string): BitNetError {
  return new BitNetError('CORRUPT_FILE', `${path}: ${message}`, { field, hint: 'model.json is damaged or was not written by tfjs' });
}

/** Bytes per element of a weight as stored (a quantized weight is stored in its quantization dtype). */
const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Checks each manifest entry's name, shape and dtype; returns the bytes the entries need and their element count. */
export function checkWeightSpecs(specs: unknown[], path: string): { bytes: number; elements: number } {
  let bytes = 0;
  let elements = 0;
  specs.forEach((spec, i) => {
    const field = `weightsManifest.weights[${i}]`;
    if (!isObject(spec) || typeof spec.name !== 'string') throw corrupt(path, field, `${field} is not a named weight`);
    const shape = spec.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every(isIndex))
      throw corrupt(path, `${field}.shape`, `weight '${spec.name}' has shape ${JSON.stringify(shape)}`);
    const count = shape.reduce((a, d) => a * d, 1);
    const q = spec.quantization;
    const stored = isObject(q) ? q.dtype : spec.dtype;
    const size = typeof stored === 'string' ? STORED_BYTES[stored] : undefined;
    if (
      size === undefined ||
      (isObject(q) ? !['float32', 'int32'].includes(String(spec.dtype)) : spec.dtype === 'uint8' || spec.dtype === 'uint16' || spec.dtype === 'float16')
    ) {
      throw corrupt(
        path,
        `${field}.dtype`,
        `weight '${spec.name}' has dtype ${JSON.stringify(spec.dtype)}${isObject(q) ? ` quantized as ${JSON.stringify(q.dtype)}` : ''}`,
      );
    }
    bytes += count * size;
    elements += count;
    if (!Number.isSafeInteger(bytes)) throw corrupt(path, `${field}.shape`, `weight '${spec.name}' is larger than any file`);
  });
  return { bytes, elements };
}

/** A layer input as model.json names it: [layer name, node index, tensor index, kwargs?]. */
function inputRef(v: unknown): { layer: string; node: number } | undefined {
  if (!Array.isArray(v) || v.length < 3 || v.length > 4 || typeof v[0] !== 'string' || !isIndex(v[1]) || !isIndex(v[2])) return undefined;
  if (v.length === 4 && v[3] !== null && !isObject(v[3])) return undefined;
  return { layer: v[0], node: v[1] };
}

/** Checks a functional model's graph (unique layer names, every layer input and model input and output reachable); returns its layers. */
export function checkTopology(topology: unknown, path: string): { class_name: string; config: Json }[] {
  if (!isObject(topology)) throw corrupt(path, 'modelTopology', 'modelTopology is not an object');
  const config = topology.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers)) throw corrupt(path, 'modelTopology.config.layers', 'the model has no list of layers');
  layers.forEach((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) {
      throw corrupt(path, `modelTopology.config.layers[${i}]`, `layer ${i} needs a class_name and a config object`);
    }
  });
  const checked = layers as { class_name: string; config: Json }[];
  if (topology.class_name === 'Sequential' || !isObject(config)) return checked;
  const created = new Map<string, number>();
  const pending: { layer: string; at: string; inputs: { layer: string; node: number }[] }[] = [];
  for (const [i, l] of (layers as Json[]).entries()) {
    const at = `modelTopology.config.layers[${i}]`;
    if (typeof l.name !== 'string' || created.has(l.name))
      throw corrupt(path, `${at}.name`, `layer ${i} has no name or repeats one (${JSON.stringify(l.name)})`);
    created.set(l.name, l.class_name === 'InputLayer' ? 1 : 0);
    const nodes = l.inbound_nodes;
    if (!Array.isArray(nodes)) throw corrupt(path, `${at}.inbound_nodes`, `layer '${l.name}' has no inbound_nodes list`);
    nodes.forEach((node, n) => {
      const inputs = Array.isArray(node) ? node.map(inputRef) : [undefined];
      if (inputs.length === 0 || inputs.some((r) => r === undefined)) {
        throw corrupt(path, `${at}.inbound_nodes[${n}]`, `layer '${l.name as string}' has a malformed input ${JSON.stringify(node).slice(0, 120)}`);
      }
      pending.push({ layer: l.name as string, at: `${at}.inbound_nodes[${n}]`, inputs: inputs as { layer: string; node: number }[] });
    });
  }
  const ready = (r: { layer: string; node: number }): boolean => r.node < (created.get(r.layer) ?? 0);
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i] as (typeof pending)[number];
      if (!p.inputs.every(ready)) continue;
      created.set(p.layer, (created.get(p.layer) as number) + 1);
      pending.splice(i--, 1);
      progress = true;
    }
  }
  const stuck = pending[0];
  if (stuck !== undefined) {
    const missing = stuck.inputs.find((r) => !ready(r)) as { layer: string; node: number };
    throw corrupt(path, stuck.at, `layer '${stuck.layer}' takes node ${missing.node} of '${missing.layer}', which the model never creates`);
  }
  for (const key of ['input_layers', 'output_layers']) {
    const refs = config[key];
    if (!Array.isArray(refs) || refs.length === 0) throw corrupt(path, `modelTopology.config.${key}`, `the model has no ${key}`);
    refs.forEach((ref, i) => {
      const r = Array.isArray(ref) && ref.length === 3 ? inputRef(ref) : undefined;
      if (r === undefined || !ready(r))
        throw corrupt(path, `modelTopology.config.${key}[${i}]`, `${key}[${i}] names ${JSON.stringify(ref)}, which the model never creates`);
    });
  }
  return checked;
}

/**
 * Builds a model from a file's topology with at most `elements` weight elements allocated; any
 * failure of tfjs to build it is the file's (CORRUPT_FILE), and frees what the build allocated.
 */
export async function buildWithinBudget<T>(elements: number, path: string, build: () => Promise<T>): Promise<T> {
  const refuse = (name: string, shape: readonly number[]): BitNetError =>
    new BitNetError('CORRUPT_FILE', `${path}: the topology builds weight '${name}' of shape ${JSON.stringify(shape)}, beyond what the weights file holds`, {
      field: 'modelTopology',
      hint: 'model.json and its weights come from different models, or model.json was edited',
    });
  // tfjs leaks the weights it decoded when they do not fit the topology: a scope frees them (a
  // built model's weights are variables, which scopes leave alone)
  tf.engine().startScope();
  try {
    return await guardedBuild({ budget: elements, refuse }, build);
  } catch (cause) {
    if (cause instanceof BitNetError) throw cause;
    throw new BitNetError('CORRUPT_FILE', `${path}: tfjs cannot build the model it describes: ${(cause as Error).message}`, {
      field: 'modelTopology',
      cause,
      hint: 'model.json is damaged, or names layers this package does not register',
    });
  } finally {
    tf.engine().endScope();
  }
}
