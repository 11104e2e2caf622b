"""Golden values for `bitnet eval` (test/golden/eval-tiny/expected.json), made with transformers.

The tiny random Llama of test/golden/hf-llama-chat-tiny scores the ids of a text from a fraction on,
in non-overlapping windows of CONTEXT ids, each window's CONTEXT - 1 next-token predictions
(labels = input_ids), the procedure of ../shared/models/README.md. Also: next-token accuracy and
the UTF-8 bytes the scored targets spell (decoded with skip_special_tokens=True, window by window).
Run: /tmp/ref/bin/python scripts/golden/make_eval_golden.py
"""
import json
import math
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "test/golden/hf-llama-chat-tiny"
OUT = ROOT / "test/golden/eval-tiny"
CONTEXT = 32
FROM = 0.5

text = (ROOT / "data/tinyshakespeare.txt").read_text(encoding="utf-8")[:6000]
OUT.mkdir(parents=True, exist_ok=True)
(OUT / "text.txt").write_text(text, encoding="utf-8")

tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
ids = tokenizer(text, add_special_tokens=False)["input_ids"]
val = ids[int(math.floor(FROM * len(ids))):]
nats, targets, hits, nbytes, windows = 0.0, 0, 0, 0, 0
start = 0
with torch.no_grad():
    while start < len(val) - (CONTEXT + 1):
        window = torch.tensor([val[start:start + CONTEXT]])
        logits = model(window).logits[0, :-1]
        labels = window[0, 1:]
        nats += torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        hits += (logits.argmax(-1) == labels).sum().item()
        targets += labels.numel()
        nbytes += len(tokenizer.decode(labels.tolist(), skip_special_tokens=True).encode("utf-8"))
        windows += 1
        start += CONTEXT
expected = {
    "context": CONTEXT,
    "from": FROM,
    "ids": len(ids),
    "windows": windows,
    "targets": targets,
    "bytes": nbytes,
    "loss": nats / targets,
    "accuracy": hits / targets,
    "bitsPerByte": nats / math.log(2) / nbytes,
}
(OUT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
print(expected)
