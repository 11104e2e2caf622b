"""transformers' view of this toolkit's HF exports (scripts/golden/export-hf-bitnet.mjs writes them first):

- for each test/golden/hf-export-*/: the float32 logits transformers computes after loading the folder
  (BitNet quantization_config on the source architecture) -> logits.json;
- hf-export-llama-online (latent weights, linear_class autobitlinear, quantization_mode online): a few steps
  of HF Trainer continue the QAT in PyTorch (the loss falls), and the result is saved as
  hf-export-llama-online-trained/ with its logits, for the toolkit to import back.

Run:  npm run build && node scripts/golden/export-hf-bitnet.mjs && /tmp/ref/bin/python scripts/golden/make_hf_export_golden.py
"""
import json
import pathlib

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "test" / "golden"
TOKENS = {"hf-export-qwen3-autobitlinear": [1, 17, 42, 5, 63, 8, 30, 2, 11, 50]}
CHAT_TOKENS = [0, 87, 301, 45, 12, 599, 230, 7, 77, 150, 420, 9]


def logits_of(model, tokens):
    with torch.no_grad():
        return [[float(v) for v in row] for row in model(torch.tensor([tokens])).logits[0].tolist()]


def write_logits(d, model):
    tokens = TOKENS.get(d.name, CHAT_TOKENS)
    classes = sorted({type(m).__name__ for m in model.modules() if "BitLinear" in type(m).__name__})
    (d / "logits.json").write_text(json.dumps({"generator": "scripts/golden/make_hf_export_golden.py", "transformers_classes": classes,
                                               "tokens": tokens, "logits": logits_of(model, tokens)}))
    print(f"{d.name}: {classes}")


for d in sorted(GOLDEN.glob("hf-export-*")):
    if d.name.endswith("-trained"):
        continue
    write_logits(d, AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval())

# continue the QAT in PyTorch: HF Trainer on the online export
src = GOLDEN / "hf-export-llama-online"
model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
tok = AutoTokenizer.from_pretrained(src)
ids = tok((ROOT / "data" / "tinyshakespeare.txt").read_text()[:400_000], add_special_tokens=False)["input_ids"]
blocks = [ids[i:i + 64] for i in range(0, len(ids) - 64, 64)][:512]


class Blocks(torch.utils.data.Dataset):
    def __len__(self):
        return len(blocks)

    def __getitem__(self, i):
        t = torch.tensor(blocks[i])
        return {"input_ids": t, "labels": t}


losses = []


class Record(Trainer):
    def log(self, logs, *args, **kwargs):
        if "loss" in logs:
            losses.append(logs["loss"])
        super().log(logs, *args, **kwargs)


torch.manual_seed(0)
args = TrainingArguments(output_dir="/tmp/hf-export-trainer", max_steps=60, per_device_train_batch_size=16, learning_rate=2e-3,
                         logging_steps=10, save_strategy="no", report_to=[], use_cpu=True, lr_scheduler_type="constant", seed=0)
Record(model=model, args=args, train_dataset=Blocks()).train()
print(f"HF Trainer losses every 10 steps: {losses}")
assert losses[-1] < losses[0] - 0.1, "the loss did not fall"
out = GOLDEN / "hf-export-llama-online-trained"
model.save_pretrained(out, safe_serialization=True)
tok.save_pretrained(out)
model.eval()
write_logits(out, model)
meta = json.loads((out / "logits.json").read_text())
meta["trainer_losses"] = losses
(out / "logits.json").write_text(json.dumps(meta))
