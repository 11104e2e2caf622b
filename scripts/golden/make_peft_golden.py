"""What HuggingFace peft writes for a LoRA adapter on a small module tree, as a fixture.

The tree mirrors test/adapter/models.ts denseMlp(): fc1 Linear(12,16) -> relu -> fc2 Linear(16,8)
-> head Linear(8,4); LoraConfig(r=4, lora_alpha=8, target_modules=["fc1","fc2"], modules_to_save=["head"]).
Writes test/golden/peft-lora.json: adapter_config.json as peft wrote it, and every tensor's
dtype and shape in adapter_model.safetensors.
Run: /tmp/ref/bin/python scripts/golden/make_peft_golden.py  (venv: see make_quant_golden.py, plus peft)
"""
import json
import pathlib
import sys
import tempfile

import peft
import torch
from peft import LoraConfig, get_peft_model
from safetensors import safe_open
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from peft_mlp import Net  # noqa: E402  (the shared module tree)

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden" / "peft-lora.json"



model = get_peft_model(Net(), LoraConfig(r=4, lora_alpha=8, target_modules=["fc1", "fc2"], modules_to_save=["head"]))
with tempfile.TemporaryDirectory() as d:
    model.save_pretrained(d)
    config = json.loads((pathlib.Path(d) / "adapter_config.json").read_text())
    tensors = {}
    with safe_open(str(pathlib.Path(d) / "adapter_model.safetensors"), "pt") as f:
        metadata = f.metadata()
        for k in f.keys():
            t = f.get_tensor(k)
            tensors[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
OUT.write_text(json.dumps({"peft": peft.__version__, "config": config, "tensors": tensors, "metadata": metadata}, indent=2, sort_keys=True) + "\n")
print(f"wrote {OUT}")
