import { defineConfig } from 'vitest/config';
import { SLOW_TESTS } from './vitest.config.js';

export default defineConfig({
  test: {
    include: SLOW_TESTS,
    // the longest (llama.cpp parity: train, export, 200 positions) takes about 70 s alone
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
