"""Golden fixtures for the quantization core, computed by the references themselves.

- absmean weights / absmax activations: PyTorch float32, the formulas of
  transformers' integrations/bitnet.py (WeightQuant, BitLinear.activation_quant);
- HF packing: transformers.integrations.bitnet.pack_weights;
- TQ2_0 / TQ1_0 packing: gguf-py's gguf.quants (llama.cpp's numpy port).

Run:  python3 -m venv /tmp/ref && /tmp/ref/bin/pip install --index-url file:///opt/pypi/simple \
        --extra-index-url file:///opt/pypi-more/simple torch transformers gguf numpy
      /tmp/ref/bin/python scripts/golden/make_quant_golden.py
Writes test/golden/quant.json. CI does not need Python: the JSON is committed.
"""
import json
import pathlib

import numpy as np
import torch
from gguf import quants
from gguf.constants import GGMLQuantizationType
from transformers.integrations.bitnet import pack_weights

torch.manual_seed(1234)
OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden" / "quant.json"


def f32list(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def weight_case(name, w, group):
    out_f, in_f = w.shape
    if group == "tensor":
        scale = 1.0 / w.abs().mean().clamp(min=1e-5)
        q = (w * scale).round().clamp(-1, 1)
        beta = (1.0 / scale).reshape(-1)
    else:
        g = w.reshape(out_f, in_f // group, group)
        scale = 1.0 / g.abs().mean(dim=-1, keepdim=True).clamp(min=1e-5)
        q = (g * scale).round().clamp(-1, 1).reshape(out_f, in_f)
        beta = (1.0 / scale).reshape(-1)
        scale = scale.expand_as(g).reshape(out_f, in_f)
    deq = q / scale
    return {
        "name": name,
        "shape": [out_f, in_f],
        "groupSize": group,
        "data": f32list(w),
        "values": [int(v) for v in q.reshape(-1).tolist()],
        "beta": f32list(beta.float()),
        "dequantized": f32list(deq.float()),
    }


def act_case(name, x, scope, bits):
    qn, qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if scope == "token":
        s = qp / x.abs().max(dim=-1, keepdim=True).values.clamp(min=1e-5)
    else:
        s = qp / x.abs().max().clamp(min=1e-5)
    q = (x * s).round().clamp(qn, qp)
    return {
        "name": name,
        "shape": list(x.shape),
        "scope": scope,
        "bits": bits,
        "data": f32list(x),
        "values": [int(v) for v in q.reshape(-1).tolist()],
        "s": f32list(s.reshape(-1).float()),
        "dequantized": f32list((q / s).float()),
    }


weights = []
for shape, std in [((4, 8), 1.0), ((16, 64), 0.02), ((33, 96), 3.0), ((64, 256), 0.05), ((3, 1024), 1e-7)]:
    w = torch.randn(shape, dtype=torch.float32) * std
    weights.append(weight_case(f"randn{shape}x{std}", w, "tensor"))
    for group in (32, 64):
        if shape[1] % group == 0:
            weights.append(weight_case(f"randn{shape}x{std}/g{group}", w, group))
weights.append(weight_case("zeros(4,16)", torch.zeros(4, 16), "tensor"))
weights.append(weight_case("zeros(4,16)/g8", torch.zeros(4, 16), 8))
# Heavy tails: a few outliers push most weights to zero.
w = torch.randn(8, 128) * 0.01
w[0, :4] = torch.tensor([5.0, -7.0, 3.0, -4.0])
weights.append(weight_case("outliers(8,128)", w, "tensor"))
# Exact ties: mean|W| = 2 per tensor (W / beta hits ±0.5, ±1.5) and 1 per group of 4.
ties_w = torch.tensor([[2.0, 2.0, 2.0, 2.0, 1.0, -1.0, 3.0, -3.0], [1.0, -1.0, 3.0, -3.0, 2.0, 2.0, -2.0, 2.0]])
weights.append(weight_case("ties(2,8)", ties_w, "tensor"))
ties_g = torch.tensor([[0.5, -0.5, 1.5, -1.5, 1.0, 1.0, -1.0, 1.0], [2.5, -0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 2.5]])
weights.append(weight_case("ties(2,8)/g4", ties_g, 4))

acts = []
for shape in [(7,), (3, 16), (2, 3, 32), (5, 257)]:
    x = torch.randn(shape) * 2.5
    for scope in ("token", "tensor"):
        for bits in (8, 4, 2):
            acts.append(act_case(f"randn{shape}/{scope}/{bits}b", x, scope, bits))
# Exact ties after scaling: with absmax 127, s = 1 and x*s = x.
ties = torch.tensor([[127.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5, 126.5, -126.5, -127.0, 0.0, 64.5, -64.5, 100.5]])
acts.append(act_case("ties(1,16)", ties, "token", 8))
acts.append(act_case("zeros(2,8)", torch.zeros(2, 8), "token", 8))
acts.append(act_case("tiny(1,8)", torch.full((1, 8), 3e-6), "token", 8))

hf = []
for shape in [(8, 2), (5, 3), (7, 2), (1, 5), (4, 4), (6, 3), (13, 7), (32, 16)]:
    q = torch.randint(-1, 2, shape, dtype=torch.int8)
    packed = pack_weights(q.clone().to(torch.int32))
    hf.append({"shape": list(shape), "values": [int(v) for v in q.reshape(-1).tolist()],
               "packed": [int(v) for v in packed.reshape(-1).tolist()], "packedShape": list(packed.shape)})


def tq_case(kind, rows):
    """Ternary rows of 256k values through gguf-py's quantizer; d = 1 so the codes are the ternary values."""
    q = np.random.default_rng(len(rows)).integers(-1, 2, size=rows).astype(np.float32)
    q[:, 0] = 1.0  # keep max|x| = 1 in every block so the codes are q itself
    q[:, 256 * (rows[1] // 256 - 1)] = -1.0
    for b in range(rows[1] // 256):
        q[:, 256 * b] = 1.0
    blocks = quants.quantize(q, kind)
    return q, blocks.reshape(rows[0], -1)


tq = []
for kind, block_bytes, name in [(GGMLQuantizationType.TQ2_0, 66, "tq2_0"), (GGMLQuantizationType.TQ1_0, 54, "tq1_0")]:
    for rows in [(1, 256), (3, 512)]:
        q, blocks = tq_case(kind, rows)
        nb = rows[1] // 256
        qs = blocks.reshape(rows[0], nb, block_bytes)[:, :, : block_bytes - 2]
        tq.append({"type": name, "shape": list(rows), "values": [int(v) for v in q.reshape(-1).tolist()],
                   "qs": [int(v) for v in qs.reshape(-1).tolist()],
                   "blocks": [int(v) for v in blocks.reshape(-1).tolist()]})

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({
    "generator": "scripts/golden/make_quant_golden.py",
    "torch": torch.__version__,
    "weights": weights, "activations": acts, "hfPack": hf, "tq": tq,
}))
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
