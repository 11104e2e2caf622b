"""Tiny pretrained-style HF checkpoints (random weights) and the logits transformers computes for them.

- hf-llama-tiny: LlamaForCausalLM with an untied head, GQA and llama3 rope_scaling (transformers 4 spelling);
- hf-qwen2-tiny: Qwen2ForCausalLM (q/k/v bias), tied head, f16;
- hf-qwen3-tiny: Qwen3ForCausalLM (per-head q/k RMSNorm, head_dim 32 != hidden / heads), untied, f32, in two shards.

logits.json holds transformers' float32 logits (the acceptance reference) and its float64 ones.

Run:  /tmp/ref/bin/python scripts/golden/make_hf_llama_golden.py   (see make_quant_golden.py for the venv)
Writes test/golden/hf-<name>-tiny/{config.json,model.safetensors,logits.json}. CI reads the committed files.
"""
import json
import pathlib

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden"
TOKENS = [1, 17, 42, 5, 63, 8, 30, 2, 11, 50]


def save(name, model, dtype, **save_args):
    out = ROOT / name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("model*.safetensors*"):
        old.unlink()
    model = model.to(dtype)
    model.save_pretrained(out, safe_serialization=True, **save_args)
    rows = lambda t: [[float(v) for v in row] for row in t.tolist()]
    with torch.no_grad():
        f32 = model.float()(torch.tensor([TOKENS])).logits[0]
        f64 = model.double()(torch.tensor([TOKENS])).logits[0]
    (out / "logits.json").write_text(json.dumps({
        "generator": "scripts/golden/make_hf_llama_golden.py", "torch": torch.__version__,
        "tokens": TOKENS, "logits": rows(f32), "logits_float64": rows(f64),
    }))
    print(f"wrote {out}")


torch.manual_seed(7)
llama = LlamaForCausalLM(LlamaConfig(
    vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=500000.0,
    rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 16},
    tie_word_embeddings=False, hidden_act="silu"))
for p in llama.parameters():
    torch.nn.init.normal_(p, std=0.1)
save("hf-llama-tiny", llama, torch.bfloat16)

torch.manual_seed(8)
qwen = Qwen2ForCausalLM(Qwen2Config(
    vocab_size=64, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
    tie_word_embeddings=True, hidden_act="silu"))
for p in qwen.parameters():
    torch.nn.init.normal_(p, std=0.1)
save("hf-qwen2-tiny", qwen, torch.float16)

torch.manual_seed(9)
qwen3 = Qwen3ForCausalLM(Qwen3Config(
    vocab_size=64, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, head_dim=32,
    num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
    tie_word_embeddings=False, hidden_act="silu"))
for name, p in qwen3.named_parameters():
    torch.nn.init.normal_(p, mean=1.0 if name.endswith("norm.weight") else 0.0, std=0.1)
save("hf-qwen3-tiny", qwen3, torch.float32, max_shard_size="60KB")

# a tiny chat model with a real tokenizer (test/golden/tokenizer-bytelevel): what recipes, generate and export run on
torch.manual_seed(10)
tok_dir = ROOT / "tokenizer-bytelevel"
vocab = json.loads((tok_dir / "tokenizer.json").read_text())
n_vocab = len(vocab["model"]["vocab"]) + sum(1 for t in vocab["added_tokens"] if t["content"] not in vocab["model"]["vocab"])
chat = LlamaForCausalLM(LlamaConfig(
    vocab_size=n_vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0,
    tie_word_embeddings=True, hidden_act="silu", bos_token_id=0, eos_token_id=4))
# a little pretraining on the first 90% of tiny Shakespeare, so that conversion tests start from a model that knows something
from transformers import AutoTokenizer
ids = AutoTokenizer.from_pretrained(tok_dir)((ROOT.parents[1] / "data" / "tinyshakespeare.txt").read_text(), add_special_tokens=False)["input_ids"]
train_ids = torch.tensor(ids[: int(0.9 * len(ids))])
opt = torch.optim.AdamW(chat.parameters(), lr=3e-3, weight_decay=0.0)
gen = torch.Generator().manual_seed(0)
for step in range(400):
    starts = torch.randint(0, len(train_ids) - 65, (16,), generator=gen)
    batch = torch.stack([train_ids[s:s + 65] for s in starts])
    loss = chat(batch, labels=batch).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"hf-llama-chat-tiny pretrained: train loss {loss.item():.3f}")
chat.eval()
save("hf-llama-chat-tiny", chat, torch.bfloat16)
for f in ("tokenizer.json", "tokenizer_config.json"):
    (ROOT / "hf-llama-chat-tiny" / f).write_text((tok_dir / f).read_text())
