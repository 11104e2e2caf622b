#!/usr/bin/env bash
# CI: one run's and one sweep's report.html opened in headless Chromium (scripts/report-check.mjs):
# no console errors, every chart with data and labeled axes. Runs are small and go to a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
node dist/src/cli/main.js run recipes/shakespeare-lm-bitnet.json \
  --set train.steps=20 --set train.evalInterval=10 --set train.logInterval=5 --set data.evalTokens=1024 \
  --set 'samples={"prompts":["ROMEO:"],"maxTokens":16}' --set "output.dir=$out/run" >/dev/null
cat >"$out/sweep.json" <<JSON
{ "name": "report-check", "base": "$PWD/recipes/mnist-mlp-bitnet.json", "output": { "dir": "$out/sweep" },
  "set": { "train.epochs": null, "train.steps": 12, "train.evalInterval": 6, "train.logInterval": 3 },
  "variants": [{ "name": "tensor", "set": { "model.bitnet.groupSize": "tensor" } }, { "name": "g64", "set": { "model.bitnet.groupSize": 64 } }] }
JSON
node dist/src/cli/main.js experiment "$out/sweep.json" >/dev/null
node scripts/report-check.mjs --screenshot "$out/run.png" "$out/run/report.html" "$out/sweep/report.html"
rm -rf "$out"
