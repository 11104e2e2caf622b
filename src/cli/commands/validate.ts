import type { Argv, CommandModule } from 'yargs';
import { selectBackend } from '../../backend.js';
import { checkRecipeModel } from '../../recipe/build.js';
import { loadRecipe } from '../../recipe/load.js';
import type { CliContext } from '../context.js';

interface ValidateArgs {
  recipe: string;
  set: string[];
  json: boolean;
}

export function validateCommand(ctx: CliContext): CommandModule<object, ValidateArgs> {
  return {
    command: 'validate <recipe>',
    describe: 'Check a recipe (extends, overrides, every field, named files) without running it',
    builder: (yargs: Argv) =>
      yargs
        .positional('recipe', { type: 'string', demandOption: true })
        .option('set', { type: 'string', array: true, default: [], describe: 'override a field: --set train.lr=0.002' })
        .option('json', { type: 'boolean', default: false, describe: 'print the resolved recipe as JSON' })
        .example('$0 validate recipes/mnist-mlp-bitnet.json', 'exit 0 when valid, 2 with every problem listed'),
    handler: async (args) => {
      const recipe = loadRecipe(args.recipe, { set: args.set });
      await selectBackend('cpu');
      await checkRecipeModel(recipe);
      ctx.io.out(args.json ? JSON.stringify(recipe) : `${args.recipe}: valid recipe '${recipe.name}'`);
    },
  };
}
