import type { StopSignal } from '../recipe/run.js';

export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Turns SIGINT/SIGTERM into a stop request (finish the step, checkpoint); a second signal exits at once. */
export function trapStopSignals(): { stop: StopSignal; release(): void } {
  const stop: StopSignal = { requested: undefined };
  const handler = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (stop.requested !== undefined) process.exit(SIGNAL_EXIT_CODES[signal]);
    stop.requested = signal;
    process.stderr.write(`\nbitnet: ${signal}: finishing the step and writing a checkpoint (again to quit now)\n`);
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    stop,
    release: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
