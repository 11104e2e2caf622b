"""Several named LoRA adapters and a DoRA one, saved by HuggingFace peft, with peft's outputs.

The module tree mirrors test/adapter/models.ts denseMlp(): fc1 Linear(12,16) -> relu ->
fc2 Linear(16,8) -> head Linear(8,4). Adapters (trained values stand-in: seeded normals):
  default  LoRA r=4 alpha=8 on fc1, fc2
  second   LoRA r=2 alpha=4 on fc2, modules_to_save head
  third    LoRA r=4 alpha=4 on fc1, fc2
  dora     LoRA r=4 alpha=8 on fc1, fc2, use_dora (magnitudes moved off their initial norms)
  cat_mix  add_weighted_adapter([default, third], [0.5, 2], combination_type="cat")
  lin_mix  add_weighted_adapter([default, third], [0.5, 2], combination_type="linear")
Writes test/golden/peft-multi/: base.safetensors, the save_pretrained folder (default in adapters/,
the others in adapters/<name>/), io.json with the inputs and every adapter's outputs (and the
base model's, under disable_adapter).
Run: /tmp/ref/bin/python scripts/golden/make_peft_multi_golden.py  (venv: see make_quant_golden.py, plus peft)
"""
import json
import pathlib
import sys
import shutil

import peft
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from peft_mlp import Net  # noqa: E402  (the shared module tree)

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden" / "peft-multi"
torch.manual_seed(0)



net = Net()
base_state = {k: v.clone() for k, v in net.state_dict().items()}
model = get_peft_model(net, LoraConfig(r=4, lora_alpha=8, target_modules=["fc1", "fc2"]))
model.add_adapter("second", LoraConfig(r=2, lora_alpha=4, target_modules=["fc2"], modules_to_save=["head"]))
model.add_adapter("third", LoraConfig(r=4, lora_alpha=4, target_modules=["fc1", "fc2"]))
model.add_adapter("dora", LoraConfig(r=4, lora_alpha=8, target_modules=["fc1", "fc2"], use_dora=True))

g = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name or "lora_A" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        elif "lora_magnitude_vector" in name:
            p.mul_(1 + 0.2 * torch.randn(p.shape, generator=g))
        elif "modules_to_save.second" in name:
            p.add_(torch.randn(p.shape, generator=g) * 0.2)

model.add_weighted_adapter(["default", "third"], [0.5, 2.0], "cat_mix", combination_type="cat")
model.add_weighted_adapter(["default", "third"], [0.5, 2.0], "lin_mix", combination_type="linear")

x = torch.randn(6, 12, generator=g)
outputs = {}
model.eval()
with torch.no_grad():
    for name in ["default", "second", "third", "dora", "cat_mix", "lin_mix"]:
        model.set_adapter(name)
        outputs[name] = model(x).flatten().tolist()
    with model.disable_adapter():
        outputs["base"] = model(x).flatten().tolist()

shutil.rmtree(OUT, ignore_errors=True)
OUT.mkdir(parents=True)
model.save_pretrained(str(OUT / "adapters"))
save_file({k: v.contiguous() for k, v in base_state.items()}, str(OUT / "base.safetensors"))
(OUT / "io.json").write_text(json.dumps({"peft": peft.__version__, "torch": torch.__version__, "x": x.flatten().tolist(), "outputs": outputs}, indent=1) + "\n")
print("wrote", OUT, "peft", peft.__version__)
