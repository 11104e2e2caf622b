"""Loads an adapter written by this toolkit with HuggingFace peft and checks its outputs.

Input: a folder from scripts/interop/peft-sample.mjs (base.safetensors, adapter/, io.json).
"""
import json
import pathlib
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from peft_mlp import Net  # noqa: E402  (the shared module tree)

d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peft-sample")



net = Net()
net.load_state_dict(load_file(str(d / "base.safetensors")))
model = PeftModel.from_pretrained(net, str(d / "adapter"))
io = json.loads((d / "io.json").read_text())
x = torch.tensor(io["x"]).reshape(-1, 12)
expected = torch.tensor(io["y"]).reshape(-1, 4)
with torch.no_grad():
    got = model(x)
diff = (got - expected).abs().max().item()
print(f"peft loaded the adapter; max |peft - toolkit| = {diff:.3g}")
assert diff < 1e-5, diff
