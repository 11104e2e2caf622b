#!/usr/bin/env bash
# The mutation check of issue #13: apply one plausible bug at a time, run the tests that should
# catch it, and report CAUGHT (a test failed) or MISSED. Every file is restored afterwards.
# Run from the repository root after `npm ci` (webgpu tests need EGL_PLATFORM=surfaceless and Mesa).
set -uo pipefail
cd "$(dirname "$0")/.."
export EGL_PLATFORM=surfaceless BITNET_REQUIRE_WEBGPU=1
missed=0

# mutate NAME FILE SED-EXPRESSION TEST...
mutate() {
  local name=$1 file=$2 expr=$3
  shift 3
  cp "$file" "$file.orig"
  sed -i "$expr" "$file"
  if cmp -s "$file" "$file.orig"; then
    echo "NOT APPLIED  $name (the pattern no longer matches $file)"
    missed=$((missed + 1))
  elif npx vitest run "$@" >/dev/null 2>&1; then
    echo "MISSED       $name"
    missed=$((missed + 1))
  else
    echo "CAUGHT       $name"
  fi
  mv "$file.orig" "$file"
}

# expect_failure NAME COMMAND...: an environment mutation (no file changes)
expect_failure() {
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    echo "MISSED       $name"
    missed=$((missed + 1))
  else
    echo "CAUGHT       $name"
  fi
}

mutate 'GGUF reader: a whole alignment block of padding when the header already ends on it' \
  src/formats/gguf/reader.ts 's/r.pos + ((alignment - (r.pos % alignment)) % alignment)/r.pos + (alignment - (r.pos % alignment))/' \
  test/formats/gguf.test.ts
mutate 'WGSL activation quantization rounds half up: floor(x + 0.5)' \
  src/kernels/webgpu/quantize-wgsl.ts 's/round(src\[row + col\] \* scale)/floor(src[row + col] * scale + 0.5)/' \
  test/kernels/webgpu.test.ts test/nn/webgpu-bitlinear.test.ts
mutate 'CPU activation quantization rounds half up' \
  src/quant/round.ts 's/return value + ROUNDING_MAGIC - ROUNDING_MAGIC;/return Math.floor(value + 0.5);/' \
  test/quant test/kernels/ternary-linear.test.ts
mutate 'weight quantization sends ties at +0.5 to 1' \
  src/quant/weight.ts 's/((p > 0.5) as unknown as number)/((p >= 0.5) as unknown as number)/' \
  test/quant/weight.test.ts
mutate 'LoRA merge forgets the scaling (alpha / r)' \
  adapters/lora/method.ts 's/values.lora_B as tf.Tensor2D), lora.scaling)/values.lora_B as tf.Tensor2D), 1)/' \
  test/adapter
mutate 'LoRA forward forgets the scaling' \
  adapters/lora/layer.ts 's/let update: tf.Tensor = tf.mul(lora, this.scaling);/let update: tf.Tensor = tf.mul(lora, 1);/' \
  test/adapter/lora-layer.test.ts
mutate 'DoRA drops (m / ||W + s·BA|| - 1) · base(x) (issue #17)' \
  adapters/lora/layer.ts 's/update = tf.add(tf.mul(tf.sub(scale, 1), baseOut), tf.mul(scale, update));/update = tf.mul(scale, update);/' \
  test/adapter/peft-multi-golden.test.ts
mutate 'a merged BitLinear passes dY · qᵀ to its input, without beta (issue #17)' \
  src/nn/bit-linear.ts 's/w\[i \* outDim + o\] = Math.fround(beta \* (ternary.values\[o \* inDim + i\] as number));/w[i * outDim + o] = ternary.values[o * inDim + i] as number;/' \
  test/adapter/lora-on-merged.test.ts
mutate 'LoRA rsLoRA scaling alpha / r instead of alpha / sqrt(r)' \
  adapters/lora/layer.ts 's/Math.sqrt(this.r)/this.r/' \
  test/adapter/lora-layer.test.ts
mutate 'kernel registry: BITNET_KERNEL=reference still gets native capabilities' \
  src/kernels/registry.ts "s/const start: KernelTierName = automatic ? 'native' : preference;/const start: KernelTierName = 'native';/" \
  test/kernels/kernel-setting.test.ts
mutate 'runner: attention calls the native tier directly' \
  src/inference/bitnet-forward.ts "s/^    this.kernels.attention($/    (loadTier('native')?.attention ?? this.kernels.attention)(/; s/^import { resolveKernels } from '..\/kernels\/registry.js';/import { loadTier, resolveKernels } from '..\/kernels\/registry.js';/" \
  test/kernels/kernel-setting.test.ts
mutate "llama.cpp numerics: the TQ2_0 lanes add the scaled sums without FMA" \
  src/kernels/tq2-lanes.ts 's/lanes\[k\] = fmaf(\(.*\), dd, lanes\[k\] as number);/lanes[k] = f32((lanes[k] as number) + f32((\1) * dd));/' \
  test/interop/ggml-numerics.test.ts
mutate "llama.cpp numerics: attention over the KV length padded to 32 (llama.cpp's flash-attention-off padding of old)" \
  src/inference/ggml-attention.ts 's/^export const GGML_KV_PADDING = 256;/export const GGML_KV_PADDING = 32;/' \
  test/interop/llama-logits.test.ts
mutate 'RoPE in the runner rotates the wrong way (a cos + b sin)' \
  src/nn/rope.ts 's/Math.fround(a \* cos - b \* sin)/Math.fround(a * cos + b * sin)/' \
  test/models/bitnet-lm.test.ts

if [ -e build/ternary.node ]; then
  best=$(node dist/src/cli/main.js kernels --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).tiers.find((t) => t.name === "native").detail))')
  expect_failure "CI expects the best native ISA ($best), but a lower one runs" \
    env BITNET_NATIVE_ISA=scalar BITNET_NATIVE_ISA_EXPECT="$best" npx vitest run test/kernels/kernels.test.ts
  expect_failure 'an ISA the CPU cannot run is asked for' \
    env BITNET_NATIVE_ISA=not-an-isa npx vitest run test/kernels/kernels.test.ts
fi
mutate 'issue #18: packed windows put loss on masked (prompt) tokens' \
  src/data/example-batches.ts 's/if (mask\[i + 1\] === 1) y\[i\]/if (mask[i + 1] !== 2) y[i]/' test/data/records.test.ts
mutate 'issue #18: the masked loss divides by every position, not the targets' \
  src/eval/lm-score.ts 's/tf.maximum(tf.sum(valid), 1)/tf.scalar(valid.size)/' test/eval/lm-score.test.ts
mutate 'issue #18: --resume goes on with a recipe that differs' \
  src/recipe/resume-check.ts 's/differing.length > 0/differing.length > 99/' test/cli/recipe-resume-extends.test.ts
mutate "issue #18: multiple choice keeps the context's trailing space in the context" \
  src/eval/multiple-choice.ts 's/const spaces = context.length - context.trimEnd().length;/const spaces = 0;/' test/eval/multiple-choice.test.ts
expect_failure 'CI: the native build fails (no compiler) while BITNET_REQUIRE_NATIVE=1' \
  env BITNET_REQUIRE_NATIVE=1 CC=/bin/false node scripts/build-native.mjs
if [ -d test/interop/node_modules ]; then
  mv test/interop/node_modules test/interop/node_modules.away
  expect_failure 'llama.cpp missing while BITNET_REQUIRE_INTEROP=1 (LM parity)' env BITNET_REQUIRE_INTEROP=1 npx vitest run --config vitest.slow.config.ts test/interop/lm-parity.test.ts
  mv test/interop/node_modules.away test/interop/node_modules
fi
# the native build above with CC=/bin/false removed nothing: it only fails before renaming
test -e build/ternary.node || node scripts/build-native.mjs >/dev/null

echo "missed: $missed"
exit "$missed"
