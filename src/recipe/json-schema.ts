import { z } from 'zod';
import { ExperimentSchema } from './experiment.js';
import { RecipeSchema } from './schema.js';

/** JSON Schema of recipe files (what editors use through "$schema"); `extends` is allowed on top. */
export function recipeJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RecipeSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    title: 'bitnet-quantize recipe',
    properties: { extends: { type: 'string', description: 'a base recipe to inherit from, relative to this file' }, ...properties },
    // A base file in configs/ may leave out what the recipe that extends it gives.
    required: [],
  };
}

export function experimentJsonSchema(): Record<string, unknown> {
  return { ...(z.toJSONSchema(ExperimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>), title: 'bitnet-quantize experiment' };
}
