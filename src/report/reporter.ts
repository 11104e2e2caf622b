/** What a training step reports to a progress display. */
export interface ProgressFields {
  loss: number;
  lr: number;
  lambda: number;
  samplesPerSec: number;
}

/** A progress display of one training run. */
export interface ProgressDisplay {
  update(step: number, fields: ProgressFields): void;
  /** A line of text between updates (an evaluation result). */
  line(text: string): void;
  stop(): void;
}

/**
 * Where library code says what it does. Library functions never write to the console themselves:
 * they take a Reporter (default: silentReporter). The CLI implements one with progress bars.
 */
export interface Reporter {
  info(text: string): void;
  warn(text: string): void;
  /** A progress display for `total` steps, starting at `start`. */
  progress(total: number, start: number): ProgressDisplay;
}

const noProgress: ProgressDisplay = { update: () => {}, line: () => {}, stop: () => {} };

export const silentReporter: Reporter = { info: () => {}, warn: () => {}, progress: () => noProgress };

/** A reporter that passes plain lines to `out` and warnings to `err` (a progress line every update). */
export function lineReporter(out: (text: string) => void, err: (text: string) => void = out): Reporter {
  return {
    info: out,
    warn: (text) => err(`warning: ${text}`),
    progress: (total) => ({
      update: (step, f) =>
        out(
          `step ${step}/${total}  loss ${f.loss.toFixed(4)}  lr ${f.lr.toExponential(2)}  lambda ${f.lambda.toFixed(3)}  ${Number(f.samplesPerSec.toPrecision(3))} samples/s`,
        ),
      line: out,
      stop: () => {},
    }),
  };
}
