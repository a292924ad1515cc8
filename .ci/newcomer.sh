#!/usr/bin/env bash
# What a newcomer does on a fresh clone: the README's first set-up line alone (read from the
# README itself, so the two cannot drift apart), then every documented mode once, small, in that
# environment; then examples/load_exported.py in an environment with jax, numpy and flatbuffers
# only. A missing install step fails here even when the full suite (run after the TFDS extra is
# added) would pass. Leaves the set-up's .venv for .ci/run to extend.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SETUP=$(grep -m1 '^python3.11 -m venv .* pip install -r requirements.txt$' README.md)
echo "+ $SETUP  (README.md's first set-up line)"
eval "$SETUP --quiet"
python -m pip check

S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
step() { echo; echo "== $*"; }
run() { echo "+ $*"; "$@"; }
expect() {  # expect TEXT FILE: the file holds TEXT
  grep -qF -- "$1" "$2" || { echo "expected '$1' in $2:"; cat "$2"; exit 1; }
}

step 'photos of the user: grey PNG, colour JPEG, 16-bit grey PNG'
mkdir -p "$S/photos"
python - "$S/photos" <<'EOF'
import sys
import numpy as np
import skimage.data
from PIL import Image
out = sys.argv[1]
Image.fromarray(skimage.data.camera()[:96, :128]).save(f'{out}/camera.png')
Image.fromarray(skimage.data.astronaut()[:72, :88]).save(f'{out}/astronaut.jpg', quality=95)
deep = (skimage.data.moon()[:64, :64].astype(np.uint16) * 257)
Image.fromarray(deep).save(f'{out}/moon16.png')
EOF

step 'help: every config with its variants, the README for pip users'
run python main.py --help > "$S/help.txt"
expect 'variants: grey (default) or colour' "$S/help.txt"
expect 'depth=D,latent=L' "$S/help.txt"
run aedenoise --help > "$S/help2.txt"
expect 'aedenoise --readme' "$S/help2.txt"
(cd "$S" && run aedenoise --readme > readme.txt) && expect '## Set up' "$S/readme.txt"
(cd "$S" && run aedenoise --config=dual_skip:quick --mode=summary > summary.txt)
expect 'trainable parameters: 91488' "$S/summary.txt"

step 'train (a few steps), resume, eval, package'
TRAIN=(--config=configs/dual_skip.py:quick --workdir="$S/run" --config.num_train_steps=6
       --config.log_every_steps=2 --config.checkpoint_every_steps=3 --config.data.num_eval=8)
run python main.py "${TRAIN[@]}" > "$S/train.txt" 2>&1 || { cat "$S/train.txt"; exit 1; }
test -f "$S/run/eval/builtin_skimage.md" && test -d "$S/run/checkpoints/6"
run python main.py "${TRAIN[@]}" --config.num_train_steps=8 > "$S/resume.txt" 2>&1 \
  || { cat "$S/resume.txt"; exit 1; }
test -d "$S/run/checkpoints/8"
run python main.py --mode=eval --workdir="$S/run" > "$S/eval.txt" 2>&1 || { cat "$S/eval.txt"; exit 1; }
run python main.py --mode=package --workdir="$S/run" --output="$S/package"
test -f "$S/package/config.json"

step 'degrade, score, restore (a folder, one file, a packaged and a shipped model)'
run python main.py --mode=degrade --input="$S/photos" --output="$S/noisy" --degradation=gaussian_s25
run python main.py --mode=score --input="$S/noisy" --reference="$S/photos" > "$S/score.txt"
expect '"images": 3' "$S/score.txt"
run python main.py --mode=restore --workdir=pretrained/unet_grey_blind --input="$S/noisy" \
  --output="$S/restored" 2> "$S/restore.err"
test -f "$S/restored/camera.png" && test -f "$S/restored/astronaut.png" && test -f "$S/restored/moon16.png"
run python main.py --mode=restore --workdir=pretrained/unet_colour_blind \
  --input="$S/noisy/astronaut.png" --output="$S/one.png"
test -f "$S/one.png"
run python main.py --mode=restore --workdir="$S/package" --input="$S/photos/camera.png" \
  --output="$S/from_package"
test -f "$S/from_package/camera.png"
run python main.py --mode=score --input="$S/restored" --reference="$S/photos"

step 'a missing flag is named'
if python main.py --mode=restore --input="$S/photos" --output="$S/x" 2> "$S/err.txt"; then
  echo 'restore without --workdir succeeded'; exit 1
fi
expect 'needs --workdir' "$S/err.txt"

step 'import the CIFAR-10 study author weights (where ../shared holds them)'
PT="$ROOT/../shared/checkpoints/psychalas2024/38.pt"
if [ -f "$PT" ]; then
  run python main.py --config=configs/cifar_model_c.py --mode=import --workdir="$S/c38" --input="$PT"
  test -d "$S/c38/checkpoints/0"
else
  echo "skipped: $PT is absent"
fi

step 'the Python API'
run python - "$S" <<'EOF'
import sys
import numpy as np
from PIL import Image
import aedenoise
folder = sys.argv[1]
model = aedenoise.load('pretrained/unet_grey_blind')
print(repr(model))
clean = np.asarray(Image.open(f'{folder}/photos/camera.png'))
noisy = aedenoise.degrade(clean, 'gaussian_s25', seed=0)
assert noisy.dtype == np.uint8 and noisy.shape == clean.shape
restored = model(noisy)
assert restored.dtype == np.uint8 and restored.shape == clean.shape
error = lambda x: float(np.mean((x.astype(np.float64) - clean) ** 2))
assert error(restored) < error(noisy) / 2, (error(restored), error(noisy))
deep = model(np.asarray(Image.open(f'{folder}/photos/moon16.png')).astype(np.uint16))
assert deep.dtype == np.uint16
print('api: restored', restored.shape, 'mse', round(error(noisy), 1), '->', round(error(restored), 1))
EOF

step 'export, and its tests, in this environment'
run python main.py --mode=export --workdir=pretrained/unet_grey_blind --output="$S/unet.jax"
test -f "$S/unet.jax" && test -f "$S/unet.jax.json"
run python -m pytest -q -p no:cacheprovider tests/test_export.py

step 'the study runner and the benchmark'
run python -m aedenoise.study --list
mkdir -p "$S/set"; cp "$S/photos/camera.png" "$S/set/"
run python -m aedenoise.benchmark --sets=mini="$S/set" --sigma=25 --baselines=none \
  --workdir=pretrained/unet_grey_blind --output="$S/bench" > "$S/bench.txt"
expect 'unet_grey_blind' "$S/bench.txt"

step 'examples/load_exported.py with jax, numpy and flatbuffers only'
python3.11 -m venv "$S/jax_only"
"$S/jax_only/bin/pip" install --quiet -c constraints.txt jax jaxlib numpy flatbuffers
python -c "import numpy as np; from PIL import Image; \
np.save('$S/in.npy', np.asarray(Image.open('$S/noisy/camera.png'), np.float32)[..., None] / 255)"
(cd "$S" && run "$S/jax_only/bin/python" "$ROOT/examples/load_exported.py" unet.jax in.npy out.npy \
  > load.txt) && cat "$S/load.txt"
expect '"output": [96, 128, 1]' "$S/load.txt"

step 'as a package: pip install . -c constraints.txt in a fresh environment'
python3.11 -m venv "$S/wheel"
"$S/wheel/bin/pip" install --quiet . -c constraints.txt
rm -rf build
SITE=$("$S/wheel/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for name in configs input_pipeline; do
  if [ -e "$SITE/$name" ]; then echo "the wheel installed a top-level $name"; exit 1; fi
done
(cd "$S" && run "$S/wheel/bin/aedenoise" --config=dual_skip:quick --mode=summary > wheel_summary.txt)
expect 'trainable parameters: 91488' "$S/wheel_summary.txt"

echo; echo 'newcomer smoke: every documented mode ran after the README set-up line alone'
