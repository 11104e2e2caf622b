import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';

/** tfjs does not export the Initializer class itself; this is its instance type. */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

export type InitializerSpec = Initializer | InitializerName;

const FACTORIES = {
  zeros: () => tf.initializers.zeros(),
  ones: () => tf.initializers.ones(),
  glorotUniform: () => tf.initializers.glorotUniform({}),
  glorotNormal: () => tf.initializers.glorotNormal({}),
  heUniform: () => tf.initializers.heUniform({}),
  heNormal: () => tf.initializers.heNormal({}),
  leCunNormal: () => tf.initializers.leCunNormal({}),
  randomNormal: () => tf.initializers.randomNormal({ stddev: 0.02 }),
} as const;

export type InitializerName = keyof typeof FACTORIES;

/** A serialized initializer in the Keras form tfjs layers use: `{ className, config }`. */
export interface SerializedInitializer {
  className: string;
  config: tf.serialization.ConfigDict;
}

export function isSerializedInitializer(value: unknown): value is SerializedInitializer {
  return typeof value === 'object' && value !== null && typeof (value as { className?: unknown }).className === 'string';
}

export function resolveInitializer(spec: InitializerSpec | SerializedInitializer | undefined, fallback: InitializerName): Initializer {
  if (spec === undefined) return FACTORIES[fallback]();
  if (typeof spec === 'string') {
    const factory = (FACTORIES as Record<string, () => Initializer>)[spec];
    if (factory === undefined) {
      throw new BitNetError('INVALID_CONFIG', `unknown initializer '${spec}'`, {
        field: 'initializer',
        hint: `one of ${Object.keys(FACTORIES).join(', ')}, or a tf.initializers instance`,
      });
    }
    return factory();
  }
  if (!isSerializedInitializer(spec)) return spec;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[spec.className];
  if (entry === undefined) {
    throw new BitNetError('INVALID_CONFIG', `unknown initializer class '${spec.className}'`, { field: 'initializer' });
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, spec.config) as Initializer;
}

export function serializeInitializer(init: Initializer): SerializedInitializer {
  return { className: init.getClassName(), config: init.getConfig() };
}
