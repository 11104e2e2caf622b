import type * as tf from '@tensorflow/tfjs';
import type { LmTokenizer } from '../data/lm-tokenizer.js';
import { generate } from '../inference/generate.js';
import { TfjsLmRunner } from '../inference/tfjs-runner.js';

export interface Sample {
  prompt: string;
  text: string;
}

/**
 * Greedy continuations of fixed prompts (through the chat template with its generation prompt
 * when `chat`), cut at the end-of-sequence token: what each evaluation shows of the model.
 */
export async function sampleTexts(
  model: tf.LayersModel,
  tokenizer: LmTokenizer,
  config: { prompts: readonly string[]; maxTokens: number; chat: boolean },
  contextLength: number,
): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const prompt of config.prompts) {
    const render = tokenizer.applyChatTemplate;
    const text = config.chat && render !== undefined ? render([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
    const ids = tokenizer.encode(text).slice(-(contextLength - 1));
    const room = Math.max(1, Math.min(config.maxTokens, contextLength - ids.length));
    const { tokens } = await generate(new TfjsLmRunner(model, contextLength), ids, { maxTokens: room, temperature: 0 });
    const end = tokens.indexOf(tokenizer.eos ?? -1);
    out.push({ prompt, text: tokenizer.decode(end < 0 ? tokens : tokens.slice(0, end)) });
  }
  return out;
}
