import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { experimentJsonSchema, recipeJsonSchema } from '../../src/recipe/json-schema.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('bitnet --help', () => {
  it.each(['run', 'validate', 'inspect', 'experiment', 'quantize', 'schema', 'eval'])('%s --help shows usage and examples', async (command) => {
    const io = captureIo();
    expect(await runCli([command, '--help'], io)).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toContain(`bitnet ${command}`);
    if (command !== 'schema') expect(text).toContain('Examples:');
  });

  it('the top-level help lists every command (child process)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, '--help']);
    for (const c of ['run <recipe>', 'validate <recipe>', 'inspect <path>', 'experiment <sweep>', 'quantize', 'schema', 'eval <source>'])
      expect(stdout).toContain(c);
  });
});

describe('JSON Schemas', () => {
  it('configs/*.schema.json are what the zod schemas generate (run `npm run schema`)', () => {
    const read = (name: string): unknown => JSON.parse(readFileSync(fileURLToPath(new URL(`../../configs/${name}`, import.meta.url)), 'utf8'));
    expect(read('recipe.schema.json')).toEqual(JSON.parse(JSON.stringify(recipeJsonSchema())));
    expect(read('experiment.schema.json')).toEqual(JSON.parse(JSON.stringify(experimentJsonSchema())));
  });

  it('every field of both schemas has a description (what editors show)', () => {
    const undocumented = (node: unknown, path: string): string[] => {
      if (typeof node !== 'object' || node === null) return [];
      const n = node as Record<string, unknown>;
      const own = Object.entries((n.properties ?? {}) as Record<string, Record<string, unknown>>).flatMap(([key, child]) => [
        ...(typeof child.description === 'string' && child.description.length > 10 ? [] : [`${path}.${key}`]),
        ...undocumented(child, `${path}.${key}`),
      ]);
      const variants = ['anyOf', 'oneOf', 'allOf'].flatMap((k) => ((n[k] as unknown[] | undefined) ?? []).flatMap((v) => undocumented(v, path)));
      return [...own, ...variants, ...undocumented(n.items, `${path}[]`)];
    };
    expect(undocumented(recipeJsonSchema(), 'recipe')).toEqual([]);
    expect(undocumented(experimentJsonSchema(), 'experiment')).toEqual([]);
    expect(Object.keys(recipeJsonSchema().properties ?? {}).length).toBeGreaterThan(10);
  });

  it('every shipped recipe points at the schema and validates', async () => {
    for (const name of ['mnist-mlp-fp32', 'mnist-mlp-bitnet', 'mnist-finetune-bitnet', 'mnist-lora-on-bitnet']) {
      const path = fileURLToPath(new URL(`../../recipes/${name}.json`, import.meta.url));
      expect((JSON.parse(readFileSync(path, 'utf8')) as { $schema: string }).$schema).toBe('../configs/recipe.schema.json');
      const io = captureIo();
      expect(await runCli(['validate', path], io), io.stderr.join('\n')).toBe(0);
    }
  });
});
