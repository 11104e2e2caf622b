"""A GGUF file written by llama.cpp's gguf-py, with its decoded tensors, for the GGUF reader and
writer tests (test/golden/reference.gguf, test/golden/reference-gguf.json).
Run: /tmp/ref/bin/python scripts/golden/make_gguf_golden.py
"""
import json
import pathlib

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType, quants

root = pathlib.Path(__file__).resolve().parents[2] / "test" / "golden"
rng = np.random.default_rng(3)
w = GGUFWriter(str(root / "reference.gguf"), "bitnet")
w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -30000)
w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -2000000000); w.add_float32("t.f32", 1.5)
w.add_bool("t.bool", True); w.add_string("t.str", "héllo ✓"); w.add_uint64("t.u64", 2**40 + 3)
w.add_int64("t.i64", -(2**40)); w.add_float64("t.f64", 3.141592653589793)
w.add_array("t.arr_str", ["<unk>", "a", "bc"]); w.add_array("t.arr_i32", [1, -2, 3])
tensors = {}
t_f32 = rng.standard_normal((3, 256)).astype(np.float32)
w.add_tensor("f32", t_f32); tensors["f32"] = t_f32
t_f16 = rng.standard_normal((2, 64)).astype(np.float16)
w.add_tensor("f16", t_f16); tensors["f16"] = t_f16.astype(np.float32)
for name, qt in [("bf16", GGMLQuantizationType.BF16), ("q8_0", GGMLQuantizationType.Q8_0), ("tq2_0", GGMLQuantizationType.TQ2_0), ("tq1_0", GGMLQuantizationType.TQ1_0)]:
    src = (rng.integers(-1, 2, size=(2, 512)) * 0.02).astype(np.float32) if name.startswith("tq") else rng.standard_normal((2, 256)).astype(np.float32)
    q = quants.quantize(src, qt)
    w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qt)
    tensors[name] = quants.dequantize(q, qt).astype(np.float32)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
(root / "reference-gguf.json").write_text(json.dumps({k: {"shape": list(v.shape), "values": [float(x) for x in v.reshape(-1)]} for k, v in tensors.items()}) + "\n")
print("wrote reference.gguf")
