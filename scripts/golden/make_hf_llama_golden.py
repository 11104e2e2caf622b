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
