"""The benchmark's report: OUT/benchmark.{json,csv,md} (one row per set, sigma and method, the
published figure beside it where one exists, aedenoise/evaluation/published.py) and
OUT/benchmark_images.csv (every image's scores), with what produced it: the convention, the seed,
and the model's provenance (workdir, checkpoint step, training degradation, config hash)."""
from __future__ import annotations

import json

from aedenoise.evaluation import published, reporting
from aedenoise.runtime import paths

NOISY = 'noisy'
COLUMNS = ('set', 'sigma', 'method', 'psnr', 'ssim', 'published', 'images', 'seconds', 'cached')
IMAGE_COLUMNS = ('set', 'sigma', 'method', 'image', 'psnr', 'ssim')
CONVENTION = ('Whole images; noisy = clean + N(0, sigma/255), unclipped and unquantised, as '
              'DnCNN/KAIR add it; restored images clipped to [0, 1] and rounded to 8 bits before '
              'scoring; the `noisy` row scores the unclipped float input. PSNR (dB) and SSIM are '
              'means over images (aedenoise/metrics.py, no border crop). `published`: '
              f'{published.SOURCE} (the noisy input: 20 log10(255 / sigma)). `seconds`: time spent '
              'on the method in this run (baselines: summed over worker processes); `cached`: '
              'baseline results read from the cache.')


def with_published(records: list[dict]) -> list[dict]:
  """Each record with its published figure, and after each (set, sigma) a row for each method
  known only by its published figure."""
  groups: dict[tuple, list[dict]] = {}
  for r in records:
    groups.setdefault((r['set'], r['sigma']), []).append(r)
  out = []
  for (set_name, sigma), rows in groups.items():
    out += [dict(r, published=published.psnr(set_name, sigma, r['method'], NOISY)) for r in rows]
    for method in published.PUBLISHED_ONLY:
      value = published.psnr(set_name, sigma, method, NOISY)
      if value is not None:
        out.append({'set': set_name, 'sigma': sigma, 'method': f'{method} (published only)',
                    'published': value})
  return out


def footer(seed: int, provenance: dict | None) -> str:
  lines = [CONVENTION, f'Noise seed {seed}: image i\'s key is fold_in(named_key(seed, '
                       f'"<set>/<file>"), sigma), the same on every run and device.']
  if provenance:
    lines.append('Model: ' + '; '.join(f'{k} {v}' for k, v in provenance.items()) + '.')
  return '\n\n'.join(lines)


def markdown(records: list[dict], text: str) -> str:
  return f'# Benchmark\n\n{reporting.markdown_table(records, COLUMNS)}\n\n{text}\n'


def write(out_dir, records: list[dict], images: list[dict], text: str,
          provenance: dict | None) -> None:
  """OUT/benchmark.{json,csv,md} and OUT/benchmark_images.csv; OUT may be a URL (gs://...)."""
  out = paths.path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  paths.write_text(out / 'benchmark.json', json.dumps(
      {'records': records, 'provenance': provenance, 'convention': CONVENTION}, indent=2) + '\n')
  paths.write_text(out / 'benchmark.csv', paths.csv_text(records, COLUMNS, extrasaction='ignore'))
  paths.write_text(out / 'benchmark.md', markdown(records, text))
  paths.write_text(out / 'benchmark_images.csv', paths.csv_text(images, IMAGE_COLUMNS))
