// Makes data/shakespeare-chat.jsonl from data/tinyshakespeare.txt: consecutive speeches as a chat,
// the user giving one speech (speaker and lines), the assistant the reply that follows it in the play.
// Deterministic: run `node scripts/data/make-shakespeare-chat.mjs` to rebuild the committed file.
import { readFileSync, writeFileSync } from 'node:fs';

const MAX_CHARS = 360;
const PAIRS = 1600;
const text = readFileSync(new URL('../../data/tinyshakespeare.txt', import.meta.url), 'utf8');
const speeches = text
  .split(/\n\s*\n/)
  .map((block) => block.trim())
  .filter((block) => /^[A-Z][A-Za-z .']*:\n/.test(block));
const lines = [];
for (let i = 0; i + 1 < speeches.length && lines.length < PAIRS; i += 2) {
  const [ask, reply] = [speeches[i], speeches[i + 1]];
  if (ask.length > MAX_CHARS || reply.length > MAX_CHARS) continue;
  const messages = [
    { role: 'user', content: ask },
    { role: 'assistant', content: reply },
  ];
  lines.push(JSON.stringify({ messages }));
}
writeFileSync(new URL('../../data/shakespeare-chat.jsonl', import.meta.url), `${lines.join('\n')}\n`);
console.log(`${lines.length} conversations`);
