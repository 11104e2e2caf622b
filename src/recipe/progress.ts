import cliProgress from 'cli-progress';
import type { CliIo } from '../cli/io.js';

export interface ProgressFields {
  loss: number;
  lr: number;
  lambda: number;
  samplesPerSec: number;
}

/** A progress bar on a terminal (step, loss, lr, lambda, samples/s, ETA); plain log lines otherwise. */
export interface Progress {
  update(step: number, fields: ProgressFields): void;
  line(text: string): void;
  stop(): void;
}

export function createProgress(io: CliIo, total: number, start: number, quiet: boolean): Progress {
  if (quiet) return { update: () => {}, line: () => {}, stop: () => {} };
  if (!io.isTTY) {
    return {
      update: (step, f) =>
        io.out(`step ${step}/${total}  loss ${f.loss.toFixed(4)}  lr ${f.lr.toExponential(2)}  lambda ${f.lambda.toFixed(3)}  ${f.samplesPerSec.toFixed(0)} samples/s`),
      line: (text) => io.out(text),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'step {value}/{total} |{bar}| loss {loss}  lr {lr}  λ {lambda}  {sps} samples/s  ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { loss: '-', lr: '-', lambda: '-', sps: '-' });
  return {
    update: (step, f) => bar.update(step, { loss: f.loss.toFixed(4), lr: f.lr.toExponential(2), lambda: f.lambda.toFixed(3), sps: f.samplesPerSec.toFixed(0) }),
    line: (text) => {
      bar.stop();
      io.out(text);
      bar.start(total, start, { loss: '-', lr: '-', lambda: '-', sps: '-' });
    },
    stop: () => bar.stop(),
  };
}
