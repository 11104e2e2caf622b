#!/usr/bin/env node
import * as tf from '@tensorflow/tfjs';
import { runCli } from './app.js';

// Production mode: no debug checks, and no tfjs banner about installing tfjs-node.
tf.enableProdMode();
// A reader that stops early (`bitnet schema | head`) closes the pipe: end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
process.exitCode = await runCli(process.argv.slice(2));
