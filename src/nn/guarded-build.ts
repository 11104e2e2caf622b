import * as tf from '@tensorflow/tfjs';
import type { LayerVariable } from './tfjs-types.js';

interface Guard {
  /** Weight elements still allowed; undefined: no limit. */
  left: number | undefined;
  refuse: (name: string, shape: readonly number[]) => Error;
  created: LayerVariable[];
}

let active: Guard | undefined;
let installed = false;

/** Wraps Layer.addWeight once: inside a guarded build it checks the budget before allocating and records each weight. */
function install(): void {
  if (installed) return;
  installed = true;
  const proto = tf.layers.Layer.prototype as unknown as { addWeight: (name: string, shape: number[], ...rest: unknown[]) => LayerVariable };
  const addWeight = proto.addWeight;
  proto.addWeight = function (this: unknown, name: string, shape: number[], ...rest: unknown[]) {
    const guard = active;
    if (guard?.left !== undefined) {
      guard.left -= shape.reduce((a, d) => a * d, 1);
      if (!(guard.left >= 0)) throw guard.refuse(name, shape);
    }
    const variable = addWeight.call(this, name, shape, ...rest);
    guard?.created.push(variable);
    return variable;
  };
}

/**
 * Builds layers from sizes that came from a file or a config: at most `budget` weight elements are
 * allocated (refused before allocation), and when the build fails every weight it made is freed.
 */
export async function guardedBuild<T>(
  options: { budget?: number; refuse?: (name: string, shape: readonly number[]) => Error },
  build: () => T | Promise<T>,
): Promise<T> {
  install();
  if (active !== undefined) return build();
  const guard: Guard = {
    left: options.budget,
    refuse: options.refuse ?? ((name, shape) => new RangeError(`weight ${name} of shape ${JSON.stringify(shape)} exceeds the budget`)),
    created: [],
  };
  active = guard;
  try {
    return await build();
  } catch (error) {
    for (const v of guard.created) v.dispose();
    throw error;
  } finally {
    active = undefined;
  }
}
