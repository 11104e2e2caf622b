import cliProgress from 'cli-progress';
import { lineReporter, silentReporter, type ProgressDisplay, type Reporter } from '../report/reporter.js';
import type { CliIo } from './io.js';

/** The CLI's Reporter: a progress bar on a terminal (step, loss, lr, lambda, samples/s, ETA), plain lines otherwise; nothing when quiet. */
export function cliReporter(io: CliIo, quiet = false): Reporter {
  if (quiet) return silentReporter;
  const plain = lineReporter(
    (text) => io.out(text),
    (text) => io.err(`bitnet: ${text}`),
  );
  if (!io.isTTY) return plain;
  return { ...plain, progress: (total, start) => progressBar(io, total, start) };
}

function progressBar(io: CliIo, total: number, start: number): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    {
      format: 'step {value}/{total} |{bar}| loss {loss}  lr {lr}  λ {lambda}  {sps} samples/s  ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const blank = { loss: '-', lr: '-', lambda: '-', sps: '-' };
  bar.start(total, start, blank);
  return {
    update: (step, f) =>
      bar.update(step, {
        loss: f.loss.toFixed(4),
        lr: f.lr.toExponential(2),
        lambda: f.lambda.toFixed(3),
        sps: String(Number(f.samplesPerSec.toPrecision(3))),
      }),
    line: (text) => {
      bar.stop();
      io.out(text);
      bar.start(total, start, blank);
    },
    stop: () => bar.stop(),
  };
}
