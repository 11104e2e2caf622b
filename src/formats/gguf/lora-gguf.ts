import { BitNetError } from '../../errors.js';
import { PROJECTIONS, projectionShape, type Projection } from '../../models/bitnet/config.js';
import { BITNET_ARCHITECTURE, tensorName } from '../../models/bitnet/spec.js';
import type { BitnetLmWeights } from '../../models/bitnet/weights.js';
import { encodeGgml } from './ggml-types.js';
import { readGgufHeader, readGgufTensor } from './reader.js';
import { gguf, type GgufValue } from './values.js';
import { writeGguf, type GgufTensorSpec } from './writer.js';

/** Whether any projection of the weights carries an unmerged LoRA update. */
export function hasLowRank(w: BitnetLmWeights): boolean {
  return w.layers.some((l) => l.lora !== undefined && Object.keys(l.lora).length > 0);
}

/**
 * Writes the LoRA updates of a bitnet LM as llama.cpp's LoRA adapter GGUF (what its
 * convert_lora_to_gguf.py writes and llama_adapter_lora_init reads): general.type `adapter`,
 * adapter.type `lora`, adapter.lora.alpha, and per projection `<tensor>.weight.lora_a` [in, r]
 * and `.lora_b` [r, out] (ggml order; PEFT's lora_A.weight [r, in] and lora_B.weight [out, r]),
 * in F16. llama.cpp scales each update by alpha / r, so one file holds one alpha.
 */
export async function writeLoraGguf(path: string, w: BitnetLmWeights, options: { name?: string } = {}): Promise<{ tensors: number; alpha: number }> {
  const deltas = w.layers.flatMap((l, i) => Object.entries(l.lora ?? {}).map(([p, d]) => ({ i, p: p as Projection, d: d })));
  if (deltas.length === 0) throw new BitNetError('INVALID_ARGUMENT', 'the model has no LoRA adapter to write', { field: 'adapter' });
  const alpha = (deltas[0] as (typeof deltas)[number]).d.alpha;
  if (deltas.some(({ d }) => d.alpha !== alpha)) {
    throw new BitNetError('UNSUPPORTED', 'the LoRA updates have different alphas; a llama.cpp adapter file holds one', { field: 'loraAlpha' });
  }
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(BITNET_ARCHITECTURE)],
    ['general.type', gguf.str('adapter')],
    ['general.name', gguf.str(options.name ?? 'bitnet-quantize LoRA')],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(alpha)],
  ];
  const tensors: GgufTensorSpec[] = [];
  for (const { i, p, d } of deltas) {
    const [out, inF] = projectionShape(w.config, p);
    const name = `${tensorName('gguf', p, i)}.weight`;
    tensors.push({ name: `${name}.lora_a`, dims: [inF, d.rank], type: 'F16', data: () => encodeGgml('F16', d.a) });
    tensors.push({ name: `${name}.lora_b`, dims: [d.rank, out], type: 'F16', data: () => encodeGgml('F16', d.b) });
  }
  await writeGguf(path, { metadata, tensors });
  return { tensors: tensors.length, alpha };
}

/** The base weights with a llama.cpp LoRA adapter GGUF's updates attached (what llama.cpp applies beside the base). */
export async function withLoraGguf(base: BitnetLmWeights, path: string): Promise<BitnetLmWeights> {
  const h = await readGgufHeader(path);
  const str = (key: string): string | undefined => {
    const v = h.metadata.get(key);
    return v?.type === 'string' ? v.value : undefined;
  };
  if (str('general.type') !== 'adapter' || str('adapter.type') !== 'lora') {
    throw new BitNetError(
      'INVALID_ARGUMENT',
      `${path} is not a LoRA adapter GGUF (general.type ${str('general.type') ?? '?'}, adapter.type ${str('adapter.type') ?? '?'})`,
      {
        field: 'general.type',
      },
    );
  }
  if (str('general.architecture') !== BITNET_ARCHITECTURE) {
    throw new BitNetError('INVALID_ARGUMENT', `${path} adapts a ${str('general.architecture') ?? '?'} model, not a bitnet one`, {
      field: 'general.architecture',
    });
  }
  const alphaValue = h.metadata.get('adapter.lora.alpha');
  const alpha = alphaValue?.type === 'f32' ? alphaValue.value : 0;
  const layers = base.layers.map((l) => ({ ...l, lora: { ...(l.lora ?? {}) } }));
  const pairs = new Map<string, { a?: (typeof h.tensors)[number]; b?: (typeof h.tensors)[number] }>();
  for (const t of h.tensors) {
    const match = /^(.*)\.lora_([ab])$/.exec(t.name);
    if (match === null) throw new BitNetError('CORRUPT_FILE', `${path}: tensor '${t.name}' is not a lora_a or lora_b`, { field: t.name });
    const pair = pairs.get(match[1] as string) ?? {};
    pair[match[2] as 'a' | 'b'] = t;
    pairs.set(match[1] as string, pair);
  }
  for (const [name, { a, b }] of pairs) {
    if (a === undefined || b === undefined)
      throw new BitNetError('CORRUPT_FILE', `${path}: '${name}' lacks its lora_${a === undefined ? 'a' : 'b'}`, { field: name });
    const target = layers.findIndex((_, i) => PROJECTIONS.some((p) => `${tensorName('gguf', p, i)}.weight` === name));
    const p = PROJECTIONS.find((q) => `${tensorName('gguf', q, target)}.weight` === name);
    if (target < 0 || p === undefined) throw new BitNetError('CORRUPT_FILE', `${path}: '${name}' is not a projection of the base model`, { field: name });
    const [out, inF] = projectionShape(base.config, p);
    const rank = a.dims[1] as number;
    if (a.dims[0] !== inF || b.dims[1] !== out || b.dims[0] !== rank) {
      throw new BitNetError(
        'CORRUPT_FILE',
        `${path}: '${name}' lora_a ${JSON.stringify(a.dims)} / lora_b ${JSON.stringify(b.dims)} do not fit [${inF}, ${out}]`,
        {
          field: name,
        },
      );
    }
    // llama.cpp: alpha 0 means a scale of 1 (alpha / rank = 1)
    (layers[target] as (typeof layers)[number]).lora[p] = {
      a: await readGgufTensor(path, a),
      b: await readGgufTensor(path, b),
      rank,
      alpha: alpha === 0 ? rank : alpha,
    };
  }
  return { ...base, layers };
}
