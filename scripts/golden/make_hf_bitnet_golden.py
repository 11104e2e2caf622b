"""A tiny HuggingFace BitNet checkpoint (packed ternary weights, as transformers' offline
BitNet quantizer stores them) and the logits transformers computes for it, for the importer test.

Writes test/golden/hf-bitnet-{bitlinear,autobitlinear}/ (config.json, model.safetensors, logits.json).
`bitlinear` stores weight_scale = 1/beta (BitLinear divides), `autobitlinear` stores beta (multiplies).
Run: /tmp/ref/bin/python scripts/golden/make_hf_bitnet_golden.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import BitNetForCausalLM
from transformers.integrations.bitnet import pack_weights

ROOT = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden"
PROMPTS = [[5, 77, 120, 260, 33], [3, 14, 25, 36]]
SHAPES = {"self_attn.q_proj": (256, 256), "self_attn.k_proj": (128, 256), "self_attn.v_proj": (128, 256), "self_attn.o_proj": (256, 256),
          "mlp.gate_proj": (512, 256), "mlp.up_proj": (512, 256), "mlp.down_proj": (256, 512)}

for linear_class in ("bitlinear", "autobitlinear"):
    d = ROOT / f"hf-bitnet-{linear_class}"
    d.mkdir(parents=True, exist_ok=True)
    config = dict(model_type="bitnet", architectures=["BitNetForCausalLM"], vocab_size=300, hidden_size=256, intermediate_size=512,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
                  rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=True, torch_dtype="float32", bos_token_id=1, eos_token_id=2,
                  quantization_config=dict(quant_method="bitnet", linear_class=linear_class, quantization_mode="offline"))
    (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    g = torch.Generator().manual_seed(0)
    sd = {"model.embed_tokens.weight": torch.randn(300, 256, generator=g) * 0.05, "model.norm.weight": 1 + 0.1 * torch.randn(256, generator=g)}
    for i in range(2):
        p = f"model.layers.{i}."
        for norm, n in [("input_layernorm", 256), ("post_attention_layernorm", 256), ("self_attn.attn_sub_norm", 256), ("mlp.ffn_sub_norm", 512)]:
            sd[p + norm + ".weight"] = 1 + 0.1 * torch.randn(n, generator=g)
        for name, shape in SHAPES.items():
            q = torch.randint(-1, 2, shape, generator=g).to(torch.int32)
            beta = 0.25 + 0.1 * i
            sd[p + name + ".weight"] = pack_weights(q.clone())
            sd[p + name + ".weight_scale"] = torch.tensor([1 / beta if linear_class == "bitlinear" else beta])
    save_file(sd, str(d / "model.safetensors"), metadata={"format": "pt"})
    model = BitNetForCausalLM.from_pretrained(str(d))
    logits = []
    with torch.no_grad():
        for prompt in PROMPTS:
            logits.append(model(torch.tensor([prompt])).logits[0].tolist())
    (d / "logits.json").write_text(json.dumps({"prompts": PROMPTS, "logits": logits}) + "\n")
    print(f"wrote {d} ({type(model.model.layers[0].self_attn.q_proj).__name__})")
