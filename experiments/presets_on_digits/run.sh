#!/usr/bin/env bash
# Every variant preset on the built-in digits (32x32, batch 64, 2 CPU cores):
#  1. speed at the paper's width (base_channels 64): 30 generator iterations, it/s from the log;
#  2. samples after the `make train` budget: width 16 (as preset/dcgan_digits), 170 s of training.
# Usage: bash experiments/presets_on_digits/run.sh   (from the repository root; ~25 min)
set -euo pipefail
OUT=${OUT:-experiments/presets_on_digits}
PY=${PY:-.venv/bin/python}
MODELS=${MODELS:-"dcgan gan wgan wgan_gp lsgan sngan r1gan"}
export WANDB_MODE=offline
echo "model,width,iterations,seconds,it_per_s" > "$OUT/speed.csv"
for model in $MODELS; do
  for width in 64 16; do
    if [ "$width" = 64 ]; then budget=(iterations=30); else budget=(iterations=1000000 +trainer.max_time=00:00:02:50); fi
    widths=(model.generator.base_channels=$width model.discriminator.base_channels=$width)
    [ "$model" = gan ] && widths=()
    dir=$(mktemp -d)
    $PY -m gans.train model=$model "~preset" "${widths[@]}" "${budget[@]}" logger=none \
      sample_every=0 checkpoint_every=0 trainer.enable_progress_bar=false \
      hydra.run.dir="$dir" > "$dir/log.txt" 2>&1
    $PY experiments/provenance.py --record "$OUT" "$model width $width" "$dir"
    line=$(grep "^trained" "$dir/log.txt")
    its=$(echo "$line" | sed -E 's/trained ([0-9]+) .* in ([0-9.]+) s \(([0-9.]+) it\/s\)/\1,\2,\3/')
    echo "$model,$width,$its" | tee -a "$OUT/speed.csv"
    [ "$width" = 16 ] && cp "$(ls "$dir"/samples/iter_*.png | tail -1)" "$OUT/$model.png"
    rm -rf "$dir"
  done
done
