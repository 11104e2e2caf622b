"""Two small tokenizers in the styles HF checkpoints ship, and what transformers makes of them: the ids of
encode(text) (add_special_tokens=True), decode(ids), and apply_chat_template.

- tokenizer-bytelevel: byte-level BPE as Llama 3 / Qwen / SmolLM (BOS from the post-processor, the chat
  template in tokenizer_config.json);
- tokenizer-sentencepiece: SentencePiece-style BPE with byte fallback as Llama 2 / TinyLlama (normalizer
  Prepend + Replace to U+2581, <0xNN> byte tokens for characters outside the vocabulary, the chat template
  in chat_template.jinja).

Run:  /tmp/ref/bin/python scripts/golden/make_tokenizer_golden.py   (the venv of make_quant_golden.py)
Writes test/golden/tokenizer-*/{tokenizer.json,tokenizer_config.json,[chat_template.jinja,]expected.json}.
"""
import json
import pathlib

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT = (ROOT / "data" / "tinyshakespeare.txt").read_text()[:200_000]
TEXTS = ["ROMEO:\nBut soft, what light through yonder window breaks?", "  leading spaces and\ttabs", "Unicode: café, naïve, 日本語, emoji 🙂",
         "First Citizen:\nBefore we proceed any further, hear me speak.", "", "Windows\r\nline ends\r\n\r\nand   runs    of  spaces   ",
         "specials inside text: {bos} and {eos} stay special", "  \n\n\t \u00a0 mixed\u2003whitespace \u2028"]
MESSAGES = [{"role": "system", "content": "You are a poet. "}, {"role": "user", "content": "Write about the sea."},
            {"role": "assistant", "content": "The sea is wide."}, {"role": "user", "content": "Shorter."}]


def write_expected(out):
    hf = AutoTokenizer.from_pretrained(out)
    texts = [t.format(bos=hf.bos_token, eos=hf.eos_token) for t in TEXTS]
    expected = {
        "generator": "scripts/golden/make_tokenizer_golden.py",
        "encode": [{"text": t, "ids": hf(t)["input_ids"], "decoded": hf.decode(hf(t)["input_ids"], skip_special_tokens=True)} for t in texts],
        "chat": {"messages": MESSAGES,
                 "withPrompt": hf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True),
                 "withoutPrompt": hf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=False)},
        "special": {"bos": hf.bos_token_id, "eos": hf.eos_token_id, "pad": hf.pad_token_id},
    }
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1))
    print(f"wrote {out}: vocab {len(hf)}")


def bytelevel():
    out = ROOT / "test" / "golden" / "tokenizer-bytelevel"
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TEXT], trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    tok.save(str(out / "tokenizer.json"))
    template = (
        "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
        "{{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    )
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "pad_token": "<|end_of_text|>", "add_bos_token": True, "clean_up_tokenization_spaces": False, "chat_template": template,
    }, indent=2))
    write_expected(out)


def sentencepiece():
    out = ROOT / "test" / "golden" / "tokenizer-sentencepiece"
    out.mkdir(parents=True, exist_ok=True)
    # merges learned on U+2581-joined words; the shipped tokenizer has no pre-tokenizer (as Llama 2's tokenizer.json)
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=60)
    trainer_tok.train_from_iterator([TEXT], trainer)
    learned = json.loads(trainer_tok.to_str())["model"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    order = ["<unk>", "<s>", "</s>"] + byte_tokens + [t for t, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]) if t not in ("<unk>", "<s>", "</s>")]
    vocab = {t: i for i, t in enumerate(order)}
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])])
    tok.save(str(out / "tokenizer.json"))
    (out / "chat_template.jinja").write_text(
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
        "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "pad_token": "</s>", "clean_up_tokenization_spaces": False, "legacy": False,
    }, indent=2))
    write_expected(out)


bytelevel()
sentencepiece()
