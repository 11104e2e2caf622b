import type { Argv, CommandModule } from 'yargs';
import { experimentJsonSchema, recipeJsonSchema } from '../../recipe/json-schema.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { CliContext } from '../context.js';

interface SchemaArgs {
  kind: 'recipe' | 'experiment';
  out: string | undefined;
}

export function schemaCommand(ctx: CliContext): CommandModule<object, SchemaArgs> {
  return {
    command: 'schema [kind]',
    describe: 'Print (or write) the JSON Schema of recipe or experiment files',
    builder: (yargs: Argv) =>
      yargs
        .positional('kind', { type: 'string', choices: ['recipe', 'experiment'], default: 'recipe' })
        .option('out', { type: 'string', describe: 'write to this file instead of printing' })
        .example('$0 schema --out configs/recipe.schema.json', 'regenerate the schema recipes point at') as unknown as Argv<SchemaArgs>,
    handler: async (args) => {
      const text = `${JSON.stringify(args.kind === 'experiment' ? experimentJsonSchema() : recipeJsonSchema(), null, 2)}\n`;
      if (args.out === undefined) ctx.io.out(text);
      else await writeFileAtomic(args.out, text);
    },
  };
}
