// Issue #18: JSONL / Parquet instruction data: chat rendering and loss masks, packing, the
// tokenization cache (streamed, read in place) against the in-memory path, and bad records.
import { mkdtempSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { exampleWindows, IGNORE_INDEX, WindowBatches } from '../../src/data/example-batches.js';
import { tokenizeRecord, type ExampleFormat } from '../../src/data/examples.js';
import { byteLmTokenizer, hfLmTokenizer } from '../../src/data/lm-tokenizer.js';
import { readRecords } from '../../src/data/records.js';
import { cachedTokens, tokenizeInMemory } from '../../src/data/token-cache.js';
import { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { expectBitNetErrorAsync } from '../helpers/errors.js';

const hf = HfTokenizer.fromDir('test/golden/hf-llama-chat-tiny');
const tokenizer = hfLmTokenizer(hf);
const work = mkdtempSync(join(tmpdir(), 'bitnet-records-'));

const format = (over: Partial<ExampleFormat> = {}): ExampleFormat => ({
  format: 'messages',
  textField: 'text',
  promptField: 'prompt',
  completionField: 'completion',
  messagesField: 'messages',
  trainOn: 'completion',
  addEos: true,
  ...over,
});

const chats = Array.from({ length: 40 }, (_, i) => ({
  messages: [
    { role: 'system', content: 'You speak like Shakespeare.' },
    { role: 'user', content: `Line ${i}: what say you?` },
    { role: 'assistant', content: `Reply ${i}: ${'verily '.repeat(i % 7)}so.` },
    { role: 'user', content: 'And then?' },
    { role: 'assistant', content: `Then ${i}.` },
  ],
}));

function jsonl(name: string, records: readonly object[]): string {
  const path = join(work, name);
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

const decodeWhere = (ids: Int32Array, mask: Uint8Array, on: number): string => hf.decode([...ids].filter((_, i) => mask[i] === on));

describe('chat records', () => {
  it('the loss mask covers exactly the assistant replies and their end-of-turn token', () => {
    const record = { value: chats[3] as Record<string, unknown>, place: { file: 'x.jsonl', line: 4 } };
    const e = tokenizeRecord(record, format(), tokenizer);
    // the whole example is the template's rendering, token for token
    expect(hf.decode([...e.ids])).toBe(hf.applyChatTemplate(chats[3]?.messages ?? []));
    expect(decodeWhere(e.ids, e.mask, 1)).toBe('Reply 3: verily verily verily so.<|eot_id|>Then 3.<|eot_id|>');
    expect(decodeWhere(e.ids, e.mask, 0)).toContain('<|start_header_id|>user<|end_header_id|>\n\nLine 3: what say you?<|eot_id|>');
    expect(decodeWhere(e.ids, e.mask, 0)).not.toContain('Reply');
    const all = tokenizeRecord(record, format({ trainOn: 'all' }), tokenizer);
    expect([...all.ids]).toEqual([...e.ids]);
    expect(all.mask.every((m) => m === 1)).toBe(true);
  });

  it('prompt-completion masks the prompt and appends the end-of-sequence token', () => {
    const record = { value: { prompt: 'Q: two and two?', completion: ' four' }, place: { file: 'x.jsonl', line: 1 } };
    const e = tokenizeRecord(record, format({ format: 'prompt-completion' }), tokenizer);
    expect(decodeWhere(e.ids, e.mask, 1)).toBe(` four${hf.decode([hf.eos as number])}`);
    expect(decodeWhere(e.ids, e.mask, 0)).toBe('Q: two and two?');
  });

  it('packed windows are the examples end to end, labels -100 where the mask is 0', async () => {
    const path = jsonl('chat.jsonl', chats);
    const store = await tokenizeInMemory([path], 'jsonl', format(), tokenizer);
    // the reference: every example tokenized on its own and concatenated by hand
    const ids: number[] = [];
    const mask: number[] = [];
    for (const c of chats) {
      const e = tokenizeRecord({ value: c, place: { file: path } }, format(), tokenizer);
      ids.push(...e.ids);
      mask.push(...e.mask);
    }
    const t = 24;
    const windows = exampleWindows(store, 0, store.examples, { contextLength: t, packing: 'packed', padId: 0 });
    expect(windows.count).toBe(Math.floor((ids.length - 1) / t));
    for (const w of [0, 1, 7, windows.count - 1]) {
      const { x, y } = windows.window(w);
      expect([...x]).toEqual(ids.slice(w * t, w * t + t));
      expect([...y]).toEqual(ids.slice(w * t + 1, w * t + t + 1).map((id, i) => (mask[w * t + 1 + i] === 1 ? id : IGNORE_INDEX)));
    }
  });

  it('padded windows hold one example each, padding never a target', async () => {
    const store = await tokenizeInMemory([jsonl('chat-pad.jsonl', chats)], 'jsonl', format(), tokenizer);
    const windows = exampleWindows(store, 0, store.examples, { contextLength: 128, packing: 'padded', padId: 9 });
    expect(windows.count).toBe(chats.length);
    const e = store.read(store.offsets[5] as number, (store.offsets[6] as number) - (store.offsets[5] as number));
    const { x, y } = windows.window(5);
    expect([...x.slice(0, e.ids.length)]).toEqual([...e.ids]);
    expect([...x.slice(e.ids.length)].every((v) => v === 9)).toBe(true);
    expect([...y.slice(e.ids.length - 1)].every((v) => v === IGNORE_INDEX)).toBe(true);
  });
});

describe('the tokenization cache (streamed in, read in place)', () => {
  it('gives the batches of the in-memory path, and is reused until the file changes', async () => {
    const path = jsonl('cache.jsonl', chats);
    const memory = await tokenizeInMemory([path], 'jsonl', format(), tokenizer);
    const first = await cachedTokens([path], 'jsonl', format(), tokenizer);
    expect(first.reused).toBe(false);
    expect(readdirSync(join(work, '.bitnet-cache')).filter((d) => d.startsWith('cache.jsonl-'))).toHaveLength(1);
    const again = await cachedTokens([path], 'jsonl', format(), tokenizer);
    expect(again.reused).toBe(true);
    for (const packing of ['packed', 'padded'] as const) {
      const plan = { contextLength: 32, packing, padId: 0 };
      const a = new WindowBatches(exampleWindows(memory, 0, 36, plan), 32, 4, 7);
      const b = new WindowBatches(exampleWindows(again.store, 0, 36, plan), 32, 4, 7);
      for (const step of [0, 1, 2, a.stepsPerEpoch, a.stepsPerEpoch + 3]) expect(b.arrays(step)).toEqual(a.arrays(step));
    }
    first.store.close();
    again.store.close();
    appendFileSync(path, `${JSON.stringify(chats[0])}\n`);
    const changed = await cachedTokens([path], 'jsonl', format(), tokenizer);
    expect(changed.reused).toBe(false);
    expect(changed.store.examples).toBe(chats.length + 1);
    changed.store.close();
    const texts = jsonl('texts-cache.jsonl', [{ text: 'one' }, { text: 'two' }]);
    const hfKey = await cachedTokens([texts], 'jsonl', format({ format: 'text' }), tokenizer);
    const byteKey = await cachedTokens([texts], 'jsonl', format({ format: 'text' }), byteLmTokenizer());
    expect(byteKey.reused).toBe(false);
    expect(byteKey.dir).not.toBe(hfKey.dir);
    expect([...byteKey.store.read(0, 4).ids]).toEqual([111, 110, 101, 256]);
    hfKey.store.close();
    byteKey.store.close();
  });

  it('Parquet rows give the tokens of the same records as JSONL', async () => {
    const path = join(work, 'chat.parquet');
    parquetWriteFile({
      filename: path,
      columnData: [{ name: 'text', data: chats.map((c) => c.messages.map((m) => m.content).join('\n')), type: 'STRING' }],
      rowGroupSize: 7,
    });
    const texts = chats.map((c) => ({ text: c.messages.map((m) => m.content).join('\n') }));
    const fromJsonl = await tokenizeInMemory([jsonl('texts.jsonl', texts)], 'jsonl', format({ format: 'text' }), tokenizer);
    const fromParquet = await tokenizeInMemory([path], 'parquet', format({ format: 'text' }), tokenizer);
    expect([...fromParquet.ids]).toEqual([...fromJsonl.ids]);
    expect([...fromParquet.offsets]).toEqual([...fromJsonl.offsets]);
    const places = [];
    for await (const r of readRecords([path], 'parquet')) places.push(r.place.row);
    expect(places).toEqual(Array.from({ length: chats.length }, (_, i) => i + 1));
  });
});

describe('bad records are errors naming file, line or row, and field', () => {
  it.each([
    ['not JSON', '{"messages": [}', 'line 3', 'not valid JSON'],
    ['not an object', '[1, 2]', 'line 3', 'JSON object'],
    ['missing field', '{"msgs": []}', 'line 3: messages', 'missing'],
    ['a message without content', '{"messages": [{"role": "user"}]}', 'line 3: messages[0]', 'content'],
    ['no assistant turn', '{"messages": [{"role": "user", "content": "hi"}]}', 'line 3: messages', 'no assistant'],
  ])('%s', async (_name, line, where, what) => {
    const path = join(work, `bad-${where.length}-${what.length}.jsonl`);
    writeFileSync(path, `${JSON.stringify(chats[0])}\n\n${line}\n${JSON.stringify(chats[1])}\n`);
    const error = await expectBitNetErrorAsync(() => tokenizeInMemory([path], 'jsonl', format(), tokenizer), 'INVALID_DATA');
    expect(error.message).toContain(`${path} ${where}`);
    expect(error.message).toContain(what);
  });

  it('a Parquet row with the wrong type names its row', async () => {
    const path = join(work, 'bad.parquet');
    parquetWriteFile({ filename: path, columnData: [{ name: 'text', data: ['fine', 'also fine', null], type: 'STRING' }] });
    const error = await expectBitNetErrorAsync(() => tokenizeInMemory([path], 'parquet', format({ format: 'text' }), tokenizer), 'INVALID_DATA');
    expect(error.message).toContain(`${path} row 3: text`);
  });
});
