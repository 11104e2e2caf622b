"""A LoRA adapter saved by Python peft on the tiny HF Llama (test/golden/hf-llama-tiny), and the
logits of the adapted model, for the toolkit to load (loadPeftModel) and re-save.

Run:  /tmp/ref/bin/pip install ... peft  &&  /tmp/ref/bin/python scripts/golden/make_llama_lora_golden.py
Writes test/golden/hf-llama-tiny-lora/{adapter_config.json,adapter_model.safetensors,logits.json}.
"""
import json
import pathlib

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden"
OUT = ROOT / "hf-llama-tiny-lora"
base = AutoModelForCausalLM.from_pretrained(ROOT / "hf-llama-tiny", dtype=torch.float64)
model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
torch.manual_seed(11)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.copy_(torch.randn_like(p) * 0.3)
model.to(torch.float32).save_pretrained(OUT)
(OUT / "README.md").unlink(missing_ok=True)
config = json.loads((OUT / "adapter_config.json").read_text())
config["base_model_name_or_path"] = "hf-llama-tiny"
(OUT / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
tokens = json.loads((ROOT / "hf-llama-tiny" / "logits.json").read_text())["tokens"]
model = model.to(torch.float64)
with torch.no_grad():
    logits = model(torch.tensor([tokens])).logits[0]
(OUT / "logits.json").write_text(json.dumps({"generator": "scripts/golden/make_llama_lora_golden.py", "tokens": tokens,
                                             "logits": [[float(v) for v in row] for row in logits.tolist()]}))
print(f"wrote {OUT}")
