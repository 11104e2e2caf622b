"""A safetensors file written by the reference library, with its values as JSON.

Writes test/golden/reference.safetensors and test/golden/reference-safetensors.json.
Run: /tmp/ref/bin/python scripts/golden/make_safetensors_golden.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

root = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden"
torch.manual_seed(0)
tensors = {
    "a.weight": torch.randn(3, 5),
    "a.bias": torch.randn(3),
    "half": torch.randn(2, 4).half(),
    "brain": torch.randn(4, 2).bfloat16(),
    "packed": torch.randint(0, 256, (2, 6), dtype=torch.uint8),
    "steps": torch.tensor([7], dtype=torch.int64),
    "scalar": torch.tensor(1.5),
}
save_file(tensors, str(root / "reference.safetensors"), metadata={"format": "pt", "note": "golden"})
values = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": v.float().reshape(-1).tolist()} for k, v in tensors.items()}
(root / "reference-safetensors.json").write_text(json.dumps(values, indent=1) + "\n")
print("wrote reference.safetensors")
