"""TFDS datasets as random-access sources: `tfds:NAME[:SPLIT]`.

The only module that imports TensorFlow Datasets (and, through it, TensorFlow), inside functions, so
everything else runs where neither is installed. A dataset is prepared once in the ArrayRecord
format and then read with `builder.as_data_source(split)`: random access by index, which lets the
loader give every process its own rows of each global batch and resume at any step, exactly as for
folders. Reading needs only pillow; preparing an image dataset needs TensorFlow.

Offline preparation: TFDS looks for the files it would download, by their registered names, in
`config.data.tfds_manual_dir` and checks their sha256. For MNIST:

    python -m input_pipeline.tfds_source mnist --data_dir=~/tensorflow_datasets \
        --manual_dir=../shared/data/mnist
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

import numpy as np
from PIL import Image

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline.errors import SourceError, first_line
from aedenoise.input_pipeline.folders import Subset, split_of

def _tfds():
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise SourceError(f'tfds: sources need tensorflow-datasets ({e}); pip install -r '
                      f'requirements-tfds.txt') from None
  return tfds


def prepared_builder(name: str, data_dir: str | None = None, manual_dir: str | None = None):
  """The TFDS builder of `name`, prepared in ArrayRecord format (downloading if needed)."""
  tfds = _tfds()
  data_dir = os.path.expanduser(data_dir) if data_dir else None
  manual_dir = os.path.expanduser(manual_dir) if manual_dir else None
  try:
    builder = tfds.builder(name, data_dir=data_dir, file_format='array_record')
  except Exception as e:  # pylint: disable=broad-except
    raise SourceError(f'tfds:{name}: {first_line(e)}') from None
  if not builder.is_prepared():
    logging.info('preparing TFDS %s in %s (once)%s', name, builder.data_dir,
                 f' from {manual_dir}' if manual_dir else '')
    tfds.disable_progress_bar()
    config = tfds.download.DownloadConfig(manual_dir=manual_dir or None)
    try:
      builder.download_and_prepare(download_config=config)
    except Exception as e:  # pylint: disable=broad-except
      raise SourceError(
          f'tfds:{name}: could not prepare it in {builder.data_dir}: {first_line(e)}. Offline, put '
          f'the files TFDS downloads in a folder and set config.data.tfds_manual_dir to it') from None
  return builder


def image_feature(features, preferred: str = '') -> str:
  """The key of the image feature: `preferred` if given, else 'image', else the only Image."""
  tfds = _tfds()
  image_keys = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
  if preferred:
    if preferred not in features:
      raise SourceError(f'tfds: no feature {preferred!r}; features: {", ".join(features)}')
    return preferred
  if 'image' in image_keys or len(image_keys) == 1:
    return 'image' if 'image' in image_keys else image_keys[0]
  raise SourceError(f'tfds: cannot tell which feature is the image ({", ".join(image_keys) or "none"}'
                    f'); set config.data.tfds_image_key')


class TfdsSource:
  """source[i] -> {'target': uint8 (H, W, channels), 'label': int (if the dataset has labels)}:
  example i of one split, the image converted like a folder image."""

  def __init__(self, name: str, split: str, data_cfg):
    self.dataset, self.split = name, split
    self.name = name
    self.channels = int(data_cfg.channels)
    self.skipped: dict[str, str] = {}
    builder = prepared_builder(name, data_cfg.tfds_data_dir, data_cfg.tfds_manual_dir)
    self.image_key = image_feature(builder.info.features, data_cfg.tfds_image_key)
    features = builder.info.features
    label = features['label'] if 'label' in features else None
    self.label_key = 'label' if isinstance(label, _tfds().features.ClassLabel) else None
    try:
      self._data = builder.as_data_source(split)
    except Exception as e:  # pylint: disable=broad-except
      hint = ''
      if 'tfrecord' in str(e).lower():
        hint = ('; it was prepared in TFRecord format (tfds.load): set config.data.tfds_data_dir to '
                'another folder to prepare a random-access copy')
      raise SourceError(f'tfds:{name}:{split}: {first_line(e)}{hint}') from None
    if len(self._data) == 0:
      raise SourceError(f'tfds:{name}:{split} has no examples')
    logging.info('tfds:%s:%s: %d images from %s', name, split, len(self._data), builder.data_dir)

  def __len__(self):
    return len(self._data)

  def __getitem__(self, index):
    try:
      record = self._data[int(index)]
      image = np.asarray(record[self.image_key])
    except Exception as e:  # pylint: disable=broad-except
      # A damaged record is skipped like a damaged file.
      raise image_io.ImageReadError(f'tfds:{self.dataset}:{self.split}[{index}]',
                                    first_line(e)) from None
    if image.ndim == 2:
      image = image[..., None]
    if image.dtype != np.uint8 or image.shape[-1] != self.channels:
      pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
      image = image_io.to_channels(pil, self.channels)
    if self.label_key is None:
      return {'target': image}
    return {'target': image, 'label': np.int32(record[self.label_key])}


def open_tfds(arg: str, data_cfg, split: str):
  """`tfds:NAME[:SPLIT]`: an explicit TFDS split (slicing syntax allowed) as it is; without one,
  the dataset's 'train' split cut to `split` like a folder."""
  name, _, tfds_split = arg.partition(':')
  if not name:
    raise SourceError('tfds source needs a dataset name: tfds:NAME[:SPLIT], e.g. tfds:mnist')
  if tfds_split:
    return TfdsSource(name, tfds_split, data_cfg)
  src = TfdsSource(name, 'train', data_cfg)
  if split == 'all':
    return src
  return Subset(src, split_of(data_cfg, list(range(len(src))), split))


def main(argv: list[str]) -> int:
  """`python -m input_pipeline.tfds_source NAME --data_dir=D [--manual_dir=M]`: prepares once,
  e.g. before a multi-host run so that the hosts do not all prepare the same folder."""
  parser = argparse.ArgumentParser(description=main.__doc__)
  parser.add_argument('name')
  parser.add_argument('--data_dir', default=None)
  parser.add_argument('--manual_dir', default=None)
  args = parser.parse_args(argv)
  logging.basicConfig(level=logging.INFO, format='%(message)s')
  try:
    builder = prepared_builder(args.name, args.data_dir, args.manual_dir)
  except SourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  splits = {k: v.num_examples for k, v in builder.info.splits.items()}
  print(f'{args.name} ready in {builder.data_dir}: {splits}')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
