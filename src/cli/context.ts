import type { CliIo } from './io.js';

/** What a command gets from the CLI shell: where to print and how to set the exit code. */
export interface CliContext {
  io: CliIo;
  setExitCode(code: number): void;
}
