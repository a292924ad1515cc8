#!/usr/bin/env bash
# benchmarks/accelerator_check.py on a machine whose Python lacks some of the project's packages
# (a GPU image with JAX but not the rest): wheels carried in .whl/ at the repository root
# (docs/PERFORMANCE.md lists them) are installed into $SITE first, without the network or any
# dependency resolution. Arguments go to the script; $PYTHON (default python3) runs it.
#   bash benchmarks/accelerator_check.sh --output=check.json
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/aedenoise-site}
if compgen -G ".whl/*.whl" > /dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
missing=$("$PYTHON" - <<'PY'
import importlib.util
modules = ('jax', 'flax', 'optax', 'orbax', 'dm_pix', 'ml_collections', 'absl', 'grain',
           'etils', 'PIL', 'skimage', 'scipy', 'matplotlib', 'tensorboardX', 'tqdm', 'yaml')
print(' '.join(m for m in modules if importlib.util.find_spec(m) is None))
PY
)
if [[ -n "$missing" ]]; then
  echo "error: this Python lacks $missing; put their wheels in .whl/ (docs/PERFORMANCE.md)" >&2
  exit 2
fi
exec "$PYTHON" benchmarks/accelerator_check.py "$@"
