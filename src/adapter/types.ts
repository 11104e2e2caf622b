import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { SafetensorsEntry, SafetensorsFile } from '../formats/safetensors/reader.js';
import type { SafetensorsInput } from '../formats/safetensors/writer.js';
import type { LayerVariable } from '../nn/tfjs-types.js';
import type { LayerEntry } from './topology.js';
import type { TargetModules } from './targets.js';

/**
 * The config of each adapter method, by peftType: what getPeftModel takes (`input`, the schema's
 * input with defaults optional) and what a PeftModel holds (`config`, parsed). Each method adds its
 * own entry by declaration merging (adapters/lora/config.ts), so nothing here lists them:
 * `declare module '../../src/adapter/types.js' { interface PeftMethods { LORA: { input: ...; config: ... } } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PeftMethods {}

export type PeftType = Extract<keyof PeftMethods, string>;

type MethodEntry<K extends PeftType> = PeftMethods[K] extends { input: infer I; config: infer C } ? { input: I; config: C } : never;

/** A config for any registered method, discriminated by peftType (unknown keys do not compile). */
export type PeftConfigInput = { [K in PeftType]: { peftType: K } & Omit<MethodEntry<K>['input'], 'peftType'> }[PeftType];

/** The parsed config of a method. */
export type PeftConfigOf<K extends PeftType> = MethodEntry<K>['config'] & AdapterConfigBase;

/** Fields every adapter config has (camelCase here; snake_case in adapter_config.json). */
export interface AdapterConfigBase {
  peftType: string;
  targetModules: TargetModules;
  excludeModules?: TargetModules | undefined;
  modulesToSave?: string[] | undefined;
  baseModelNameOrPath?: string | undefined;
}

/** What merging one layer gives: the layer entry and weights (by short name) of the merged model. */
export interface MergedLayer {
  entry: LayerEntry;
  weights: Record<string, tf.Tensor>;
  /** True when merging changed the layer's outputs (e.g. LoRA folded into a ternary base). */
  requantized: boolean;
}

/**
 * One adapter method (LoRA, BitNet, ...). The generic engine walks, matches, rebuilds, freezes,
 * merges, counts and saves; a method only answers these questions about its own layers.
 */
export interface AdapterMethod<C extends AdapterConfigBase = AdapterConfigBase> {
  /** `peft_type` in adapter_config.json, unique in the registry. */
  readonly peftType: string;
  /** zod schema of the config (camelCase, defaults filled). */
  readonly schema: z.ZodType<C>;
  /** Whether the method can adapt a layer (its class; the layer itself when the class is not enough). */
  supports(className: string, layer?: tf.layers.Layer): boolean;
  /** The layer entry that replaces `layer` in the adapted model. */
  adaptedEntry(layer: tf.layers.Layer, config: C): LayerEntry;
  /** Fills the new layer's weights from the layer it replaces. */
  initialize(adapted: tf.layers.Layer, original: tf.layers.Layer, config: C, path: string): void;
  /** Whether a weight of an adapted layer trains while the base is frozen. */
  isAdapterWeight(layer: tf.layers.Layer, weight: LayerVariable): boolean;
  /** Turns the adaptation of a layer off (base behaviour) or on. */
  setEnabled(layer: tf.layers.Layer, enabled: boolean): void;
  /** The merged form of an adapted layer; `null` keeps the layer as it is. */
  merge(layer: tf.layers.Layer, config: C, options: MergeOptions): MergedLayer | null;
  /** A new adapter combining saved ones (peft's add_weighted_adapter), its tensors in peft's layout for the layers at `paths`. */
  combine?(inputs: readonly WeightedInput<C>[], combination: string, paths: readonly string[]): { config: C; tensors: Record<string, SafetensorsInput> };
  /** The layer the adapted one wraps, with its weights (what switching between named adapters rebuilds from); methods without it take one adapter per model. */
  unwrap?(layer: tf.layers.Layer): { entry: LayerEntry; weights: Record<string, tf.Tensor> };
  /** The method's tensors of one adapted layer, keyed by PEFT names relative to the layer path (`lora_A.weight`). */
  stateDict(layer: tf.layers.Layer, config: C): Record<string, SafetensorsInput>;
  /** Loads what stateDict wrote; `prefix` is `base_model.model.<path>.`. */
  loadStateDict(layer: tf.layers.Layer, file: SafetensorsFile, prefix: string, config: C): void;
  /** Checks a saved adapter's tensors against its config before any layer is built, so a config that disagrees with its file allocates nothing. */
  checkSaved?(tensors: readonly SafetensorsEntry[], config: C): void;
  /** The method's own fields for adapter_config.json (snake_case). */
  toPeftJson(config: C): Record<string, unknown>;
  /** The config from adapter_config.json. */
  fromPeftJson(json: Record<string, unknown>): unknown;
}

/** One adapter of a weighted combination: its config, its tensors (peft layout) and its weight. */
export interface WeightedInput<C extends AdapterConfigBase = AdapterConfigBase> {
  config: C;
  file: SafetensorsFile;
  weight: number;
}

export interface MergeOptions {
  /** LoRA on a ternary (BitLinear) base: fold in and re-quantize, or keep the adapter unmerged. */
  ternaryBase?: 'requantize' | 'keep';
}

export interface ParameterCount {
  trainable: number;
  frozen: number;
  total: number;
  byLayer: Record<string, { trainable: number; frozen: number }>;
}

export interface InjectionReport {
  peftType: string;
  matched: string[];
  modulesToSave: string[];
  unmatchedTargets: string[];
  warnings: string[];
}

export interface MergeReport {
  merged: string[];
  requantized: string[];
  kept: string[];
  warnings: string[];
}

/** The adapter lifecycle every method supports (see PeftModel). */
export interface Adapter {
  readonly peftType: string;
  readonly model: tf.LayersModel;
  readonly report: InjectionReport;
  inject(model: tf.LayersModel): { model: tf.LayersModel; report: InjectionReport };
  freeze(): void;
  unfreeze(): void;
  readonly isFrozen: boolean;
  merge(options?: MergeOptions): MergeReport;
  unmerge(): void;
  readonly merged: boolean;
  enable(): void;
  disable(): void;
  readonly enabled: boolean;
  countParameters(): ParameterCount;
  printTrainableParameters(log?: (line: string) => void): string;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
}
