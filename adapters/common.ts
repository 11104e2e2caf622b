import { z } from 'zod';

/** Fields every adapter config shares, as zod (camelCase). */
export const targetModulesSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const adapterBaseShape = {
  targetModules: targetModulesSchema,
  excludeModules: targetModulesSchema.optional(),
  modulesToSave: z.array(z.string().min(1)).optional(),
  baseModelNameOrPath: z.string().optional(),
};

type Json = Record<string, unknown>;

/** Common adapter_config.json fields → camelCase config fields. */
export function baseFromPeftJson(json: Json): Json {
  const out: Json = { targetModules: json.target_modules };
  if (json.exclude_modules !== null && json.exclude_modules !== undefined) out.excludeModules = json.exclude_modules;
  // anything but null or a list reaches the schema and is refused there, not ignored
  if (json.modules_to_save !== null && json.modules_to_save !== undefined) out.modulesToSave = json.modules_to_save;
  if (typeof json.base_model_name_or_path === 'string') out.baseModelNameOrPath = json.base_model_name_or_path;
  return out;
}
