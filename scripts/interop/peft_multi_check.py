"""Loads a multi-adapter save written by this toolkit with HuggingFace peft and checks each adapter.

Input: a folder from scripts/interop/peft-multi-sample.mjs (base.safetensors, adapters/ with the
default adapter at the top and the others in subfolders, io.json). peft loads the top adapter
with from_pretrained, the others with load_adapter, switches with set_adapter, and every output
must equal this toolkit's (1e-5 relative); disable_adapter must give the base model's.
"""
import json
import pathlib
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from peft_mlp import Net  # noqa: E402  (the shared module tree)

d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peft-multi")



net = Net()
net.load_state_dict(load_file(str(d / "base.safetensors")))
model = PeftModel.from_pretrained(net, str(d / "adapters"))
io = json.loads((d / "io.json").read_text())
for name in io["outputs"]:
    if name not in ("default", "base"):
        model.load_adapter(str(d / "adapters" / name), adapter_name=name)
x = torch.tensor(io["x"]).reshape(-1, 12)
model.eval()
worst = 0.0
with torch.no_grad():
    for name, want in io["outputs"].items():
        expected = torch.tensor(want).reshape(-1, 4)
        if name == "base":
            with model.disable_adapter():
                got = model(x)
        else:
            model.set_adapter(name)
            got = model(x)
        rel = ((got - expected).abs().max() / expected.abs().max()).item()
        print(f"{name}: max |peft - toolkit| / max |toolkit| = {rel:.3g}")
        worst = max(worst, rel)
assert worst < 1e-5, worst
print(f"peft {__import__('peft').__version__} loaded {len(io['outputs']) - 1} adapters; all outputs agree")
