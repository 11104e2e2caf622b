// Lint: typescript-eslint's type-aware recommended rules (zero warnings in CI), Prettier for
// formatting (eslint-config-prettier turns off the rules it owns), and the layering rules of
// docs/ARCHITECTURE.md.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Layers of src/, lowest first (docs/ARCHITECTURE.md): a folder never imports a folder of a higher layer.
const LAYERS = [
  ['util', 'report', 'errors'],
  ['config', 'settings', 'quant'],
  ['kernels'],
  ['nn'],
  ['models', 'tokenizer'],
  ['formats'],
  ['adapter'],
  ['inference', 'data', 'train', 'eval'],
  ['recipe', 'inspect'],
  ['cli'],
];
const ADAPTERS_ONLY_VIA_INDEX = { regex: '(\\.\\./)+adapters/(?!index\\.js$)', message: 'src/ reaches adapters/ only through adapters/index.js' };

function layering() {
  return LAYERS.flatMap((folders, level) => {
    const higher = LAYERS.slice(level + 1).flat();
    const patterns = [ADAPTERS_ONLY_VIA_INDEX];
    if (higher.length > 0) {
      patterns.push({
        regex: `^(\\.\\./)+(src/)?(${higher.join('|')})(/|\\.js$)|^\\./(${higher.join('|')})/`,
        message: `a lower layer (${folders.join(', ')}) imports a higher one (docs/ARCHITECTURE.md); the CLI is never imported: library code takes a Reporter`,
      });
    }
    return folders.map((folder) => ({
      files: [`src/${folder}/**/*.ts`, `src/${folder}.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    }));
  });
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'test/interop/node_modules/', 'bench/llama/', '.device/', 'runs/', 'src/kernels/wasm/ternary-wat.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'scripts/*/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
    },
  },
  ...layering(),
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
