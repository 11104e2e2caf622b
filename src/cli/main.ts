#!/usr/bin/env node
import * as tf from '@tensorflow/tfjs';
import { runCli } from './app.js';

// Production mode: no debug checks, and no tfjs banner about installing tfjs-node.
tf.enableProdMode();
process.exitCode = await runCli(process.argv.slice(2));
