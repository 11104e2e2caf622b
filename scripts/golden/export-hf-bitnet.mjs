// The HF exports of converted tiny models that scripts/golden/make_hf_export_golden.py loads with transformers.
// Run (after npm run build):  node scripts/golden/export-hf-bitnet.mjs
// Writes test/golden/hf-export-{llama-bitlinear,qwen3-autobitlinear,llama-online}/ (config.json, model.safetensors, tokenizer files).
import { fileURLToPath } from 'node:url';
import '../../dist/adapters/index.js';
import { getPeftModel } from '../../dist/src/adapter/peft.js';
import { selectBackend } from '../../dist/src/backend.js';
import { exportHfPretrained } from '../../dist/src/formats/hf-export.js';
import { fromPretrained } from '../../dist/src/formats/hf-pretrained.js';

const golden = (name) => fileURLToPath(new URL(`../../test/golden/${name}`, import.meta.url));
await selectBackend('cpu');
const variants = [
  ['hf-llama-chat-tiny', 'hf-export-llama-bitlinear', { linearClass: 'bitlinear' }],
  ['hf-qwen3-tiny', 'hf-export-qwen3-autobitlinear', { linearClass: 'autobitlinear' }],
  ['hf-llama-chat-tiny', 'hf-export-llama-online', { mode: 'online' }],
];
for (const [source, out, options] of variants) {
  const { model } = await fromPretrained(golden(source));
  const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
  const report = await exportHfPretrained(peft.model, golden(source), golden(out), options);
  console.log(`wrote ${out}: ${JSON.stringify(report)}`);
  peft.dispose();
  model.dispose();
}
