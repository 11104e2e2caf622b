"""A small byte-level BPE tokenizer in the Llama 3 / Qwen style (BOS added by the post-processor,
a chat template in tokenizer_config.json), and what transformers makes of it: the ids of
encode(text) (add_special_tokens=True), decode(ids), and apply_chat_template.

Run:  /tmp/ref/bin/python scripts/golden/make_tokenizer_golden.py   (the venv of make_quant_golden.py)
Writes test/golden/tokenizer-bytelevel/{tokenizer.json,tokenizer_config.json,expected.json}.
"""
import json
import pathlib

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "golden" / "tokenizer-bytelevel"
OUT.mkdir(parents=True, exist_ok=True)

text = (ROOT / "data" / "tinyshakespeare.txt").read_text()[:200_000]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator([text], trainer)
bos = tok.token_to_id("<|begin_of_text|>")
tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B", special_tokens=[("<|begin_of_text|>", bos)])
tok.save(str(OUT / "tokenizer.json"))

template = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
(OUT / "tokenizer_config.json").write_text(json.dumps({
    "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
    "pad_token": "<|end_of_text|>", "add_bos_token": True, "clean_up_tokenization_spaces": False, "chat_template": template,
}, indent=2))

hf = AutoTokenizer.from_pretrained(OUT)
texts = ["ROMEO:\nBut soft, what light through yonder window breaks?", "  leading spaces and\ttabs", "Unicode: café, naïve, 日本語, emoji 🙂",
         "First Citizen:\nBefore we proceed any further, hear me speak.", ""]
messages = [{"role": "system", "content": "You are a poet. "}, {"role": "user", "content": "Write about the sea."},
            {"role": "assistant", "content": "The sea is wide."}, {"role": "user", "content": "Shorter."}]
expected = {
    "generator": "scripts/golden/make_tokenizer_golden.py",
    "encode": [{"text": t, "ids": hf(t)["input_ids"], "decoded": hf.decode(hf(t)["input_ids"], skip_special_tokens=True)} for t in texts],
    "chat": {"messages": messages,
             "withPrompt": hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
             "withoutPrompt": hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)},
    "special": {"bos": hf.bos_token_id, "eos": hf.eos_token_id, "pad": hf.pad_token_id},
}
(OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1))
print(f"wrote {OUT}: vocab {tok.get_vocab_size()}")
