// Issue #15, finding 10: mistyped sampling arguments are refused (exit 2, the option named) before
// anything is loaded, instead of generating with NaN or a negative count.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';

describe('bitnet generate: sampling arguments', () => {
  it.each([
    ['--max-tokens', '-1'],
    ['--max-tokens', '0'],
    ['--max-tokens', 'abc'],
    ['--max-tokens', '2.5'],
    ['--temperature', 'NaN'],
    ['--temperature', '-0.1'],
    ['--top-k', 'NaN'],
    ['--top-k', '-3'],
    ['--seed', 'x'],
  ])('%s %s', async (option, value) => {
    const io = captureIo();
    expect(await runCli(['generate', 'no-such-model.gguf', option, value], io)).toBe(2);
    const stderr = io.stderr.join('\n');
    expect(stderr).toContain(`[INVALID_ARGUMENT] ${option} must be`);
    expect(stderr).toContain(`field: ${option.slice(2)}`);
  });
});
