"""transformers' float32 logits of the shared pretrained checkpoint on the first 64 validation ids, for
bench/hf-validation.ts --logits (not committed: the model lives outside the repository).

Run:  /tmp/ref/bin/python scripts/golden/shared_model_logits.py ../shared/models/shakespeare-llama-21m /tmp/shared-logits.json
"""
import json
import pathlib
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

src, out = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(src)
model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32).eval()
ids = tok((pathlib.Path(__file__).resolve().parents[2] / "data" / "tinyshakespeare.txt").read_text(), add_special_tokens=False)["input_ids"]
window = ids[int(0.9 * len(ids)):][:64]
with torch.no_grad():
    logits = model(torch.tensor([window])).logits[0]
pathlib.Path(out).write_text(json.dumps({"tokens": window, "logits": [[float(v) for v in row] for row in logits.tolist()]}))
print(f"wrote {out}: {len(window)} positions")
