import { z } from 'zod';
import { ExperimentSchema } from './experiment.js';
import { RecipeSchema } from './schema.js';
import { describeFields, EXPERIMENT_FIELD_DOCS, RECIPE_FIELD_DOCS } from './field-docs.js';

/** JSON Schema of recipe files (what editors use through "$schema"); `extends` is allowed on top. */
export function recipeJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RecipeSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  const out = {
    ...schema,
    title: 'bitnet-quantize recipe',
    properties: { extends: { type: 'string' }, ...properties },
    // A base file in configs/ may leave out what the recipe that extends it gives.
    required: [],
  };
  describeFields(out, RECIPE_FIELD_DOCS);
  return out;
}

export function experimentJsonSchema(): Record<string, unknown> {
  const out = {
    ...(z.toJSONSchema(ExperimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
    title: 'bitnet-quantize experiment',
  };
  describeFields(out, EXPERIMENT_FIELD_DOCS);
  return out;
}
