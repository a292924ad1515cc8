"""A run's saved config (a workdir's config.json) as a config file: `--config=W/config.json` is read
through this file, so its fields can be overridden as any config's (`--config.eval.whole_images=
True`). Fields added since the run was written take their defaults (default.from_saved).

Variants: the path of a config.json (given for you when --config names one).
"""
import json

from aedenoise.configs import default


def get_config(path=None):
  if not path:
    raise ValueError('configs/saved.py reads a workdir\'s config.json: --config=W/config.json')
  try:
    with open(path, encoding='utf-8') as f:
      saved = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError(f'cannot read {path}: {e}') from None
  if not isinstance(saved, dict) or not isinstance(saved.get('model'), str):
    raise ValueError(f'{path} is not a run\'s config: a JSON object naming its model')
  return default.from_saved(saved)
