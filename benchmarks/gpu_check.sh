#!/usr/bin/env bash
# The GPU checks of issue 36 (and 34's GPU item), sized for one short device call each:
#   bash benchmarks/gpu_check.sh 1   # captured == eager test, one DCGAN iteration profiled
#                                    # (plain loop, gans.train, gans.train cuda_graphs=true),
#                                    # DCGAN throughput, the default `python -m gans.train`
#   bash benchmarks/gpu_check.sh 2   # throughput of every other family, captured where it can be
#   bash benchmarks/gpu_check.sh 3   # issue 34: the `auto` StyleGAN2 on the digits, its FID curve
# Raw output goes to $OUT (the device tool brings it back; at most 8 files). The machine has no
# hydra/omegaconf/prdc: they travel in .gpu_site (pip install --target .gpu_site --no-deps
# hydra-core omegaconf antlr4-python3-runtime prdc), and no W&B, so runs log to CSV there.
set -u
part=${1:-1}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD:$PWD/.gpu_site" PYTHONUNBUFFERED=1 WANDB_MODE=offline
header() {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"
    date -u
}
if [ "$part" = 1 ]; then
    { header; timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_captured.py 2>&1 | tail -40; } \
        > "$OUT/test_captured.txt" 2>&1
    { header; timeout 170 python3 benchmarks/profile_iteration.py --models dcgan64 --iterations 30 \
        --warmup 20 --also cuda_graphs=true --trace-dir "$OUT/traces" logger=csv metrics=none 2>&1 \
        | grep -v "^USDT\|^ERROR:.*gpuGetDeviceCount"; } > "$OUT/profile.txt" 2>&1
    { header; timeout 200 python3 benchmarks/throughput.py --models dcgan64,dcgan_mnist \
        --iterations 900 --warmup 100 --repeats 2 --no-breakdown --no-quiet logger=csv metrics=none \
        2>&1 | grep -v "wandb\|^W&B\|^sample grids\|^checkpoints\|^run directory\|^USDT"; } \
        > "$OUT/throughput-dcgan.txt" 2>&1
    { header; for graphs in false true; do
        echo "== python -m gans.train logger=csv cuda_graphs=$graphs"
        timeout 100 python3 -m gans.train logger=csv cuda_graphs=$graphs 2>&1 | tail -12
    done; } > "$OUT/default-run.txt" 2>&1
elif [ "$part" = 3 ]; then
    # issue 34 item 5: the paper's `auto` StyleGAN2 (preset=none) at 32x32 on the digits, FID
    # every 500 iterations (batch 32: 16 kimg apart), for as long as the call allows
    { header; timeout 540 python3 -m gans.train model=stylegan2 preset=none data=mnist \
        data.image_size=32 iterations=20000 metrics.every=500 sample_every=1000 logger=csv \
        paths.run_dir=/tmp/sg2 trainer.enable_progress_bar=false 2>&1 | tail -40; } \
        > "$OUT/stylegan2-auto.txt" 2>&1
    find /tmp/sg2 -name metrics.csv -exec cp {} "$OUT/stylegan2-auto-metrics.csv" \;
    cp "$(ls /tmp/sg2/samples/*.png 2>/dev/null | tail -1)" "$OUT/stylegan2-auto-last.png" 2>/dev/null
else
    { header; timeout 560 python3 benchmarks/throughput.py \
        --models sagan,wgan_gp,biggan,stylegan2,pix2pix,cyclegan,vqgan,vae \
        --iterations 300 --warmup 30 --repeats 2 --no-breakdown --no-quiet logger=csv metrics=none 2>&1 \
        | grep -v "wandb\|^W&B\|^sample grids\|^checkpoints\|^run directory\|^USDT"; } \
        > "$OUT/throughput-families.txt" 2>&1
fi
tail -n 60 "$OUT"/*.txt
