"""Folder and pair sources, decoding rules, splits and the batch loader's order, shards and resume."""
import json
import logging
import os

import ml_collections
import numpy as np
import pytest
from PIL import Image

from aedenoise import input_pipeline
from aedenoise.configs import default
from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import pairs, preprocess
from aedenoise.input_pipeline.errors import SourceError
from aedenoise.input_pipeline.folders import FolderSource, split_files
from aedenoise.input_pipeline.loader import CachedSource, TrainBatches
from aedenoise.input_pipeline.sources import open_source
import image_files


def data_config(**overrides) -> ml_collections.ConfigDict:
  config = default.get_config()
  config.data.update(overrides)
  return config


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('mixed'))
  return root, image_files.make_mixed_folder(root)


def test_every_format_and_mode_decodes_to_the_configured_channels(mixed):
  root, names = mixed
  for channels in (1, 3):
    for name in names['good']:
      image = image_io.read_image(os.path.join(root, name), channels)
      assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == channels, name
  # 16-bit keeps its full range (x*257 -> x), CMYK and palette land near their RGB originals.
  sixteen = image_io.read_image(os.path.join(root, 'sixteen.png'), 1)[..., 0]
  np.testing.assert_array_equal(sixteen, image_files.smooth_image(5, 120, 120, 1)[..., 0])
  original = image_files.smooth_image(4, 120, 120, 3).astype(int)
  cmyk = image_io.read_image(os.path.join(root, 'cmyk.jpg'), 3).astype(int)
  assert np.abs(cmyk - original).mean() < 6
  # RGBA is composited onto black: alpha 200/255 darkens.
  rgba = image_io.read_image(os.path.join(root, 'rgba.png'), 3).astype(float)
  np.testing.assert_allclose(rgba, image_files.smooth_image(2, 120, 120, 3) * (200 / 255), atol=1.01)


def test_exif_orientation_is_applied(tmp_path):
  pixels = np.zeros((20, 40), np.uint8)
  pixels[:, :10] = 255  # bright band on the left of the stored pixels
  exif = Image.Exif()
  exif[0x0112] = 6  # "rotate 90 CW to display"
  path = str(tmp_path / 'rotated.jpg')
  Image.fromarray(pixels).save(path, exif=exif, quality=100)
  shown = image_io.read_image(path, 1)[..., 0]
  assert shown.shape == (40, 20)
  assert shown[:10].mean() > 200 and shown[-10:].mean() < 50  # the band is now on top


def test_broken_files_are_skipped_with_one_warning(mixed, caplog):
  root, names = mixed
  with caplog.at_level(logging.WARNING):
    src = open_source(f'folder:{root}', data_config().data, 'all')
  warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
  assert len(warnings) == 1 and 'skipped 4 of 19 files' in warnings[0]
  assert sorted(os.path.basename(p) for p in src.skipped) == names['broken_header']
  assert sorted(src.files) == sorted(names['good'] + names['broken_pixels'])
  # The truncated JPEG passes the header check and is skipped when the loader meets it.
  skipped = {}
  out = input_pipeline.load_examples(src, (32, 32), skipped=skipped)['target']
  assert len(out) == len(names['good']) and list(skipped) == [os.path.join(root, 'cut.jpg')]


def test_unusable_folders_raise_one_line_errors(tmp_path):
  data = data_config().data
  (tmp_path / 'empty').mkdir()
  with pytest.raises(SourceError, match='no image files'):
    open_source(f'folder:{tmp_path / "empty"}', data, 'all')
  with pytest.raises(SourceError, match='folder not found'):
    open_source(f'folder:{tmp_path / "missing"}', data, 'all')
  bad = tmp_path / 'bad'
  bad.mkdir()
  (bad / 'a.png').write_bytes(b'')
  (bad / 'b.jpg').write_text('text')
  with pytest.raises(SourceError, match='no usable image.*all 2 image files') as e:
    open_source(f'folder:{bad}', data, 'all')
  assert '\n' not in str(e.value)
  with pytest.raises(SourceError, match='unknown source'):
    open_source('ftp:x', data, 'all')


def test_dual_ae_study_split_is_deterministic_and_disjoint():
  files = [f'{i:05d}.png' for i in range(1000)]
  parts = {s: split_files(files, s, 1234, 0.2, 0.1) for s in ('train', 'val', 'test')}
  assert {s: len(p) for s, p in parts.items()} == {'train': 720, 'val': 80, 'test': 200}
  assert sorted(sum(parts.values(), [])) == files
  assert split_files(files, 'test', 1234, 0.2, 0.1) == parts['test']
  assert split_files(files, 'test', 1235, 0.2, 0.1) != parts['test']


def test_fit_rules():
  image = np.arange(30 * 50, dtype=np.uint8).reshape(30, 50, 1)
  assert preprocess.fit(image, (20, 20), 'crop', None).shape == (20, 20, 1)
  np.testing.assert_array_equal(preprocess.fit(image, (20, 20), 'crop', None), image[5:25, 15:35])
  assert preprocess.fit(image, (64, 64), 'resize', None).shape == (64, 64, 1)
  # Smaller than the crop: upscaled with the aspect kept until it covers the crop, then cropped.
  tiny = np.full((3, 5, 1), 77, np.uint8)
  np.testing.assert_array_equal(preprocess.fit(tiny, (20, 20), 'crop', np.random.default_rng(0)),
                                np.full((20, 20, 1), 77, np.uint8))
  # A pair is cut at one place; a pair smaller than the crop is enlarged alike.
  pair = {'input': 255 - image, 'target': image, 'label': 3}
  out = preprocess.fit_example(pair, (20, 20), 'crop', np.random.default_rng(1))
  np.testing.assert_array_equal(out['input'], 255 - out['target'])
  assert out['label'] == 3
  out = preprocess.fit_example(pair, (40, 40), 'crop', np.random.default_rng(1))
  assert out['input'].shape == (40, 40, 1)
  assert np.abs(out['input'].astype(int) + out['target'] - 255).max() <= 1  # bicubic rounding
  with pytest.raises(ValueError, match='integer factor'):
    preprocess.fit_example({'input': image[:20], 'target': image}, (20, 20), 'crop', None)


class ArraySource:
  """Image i is filled with the value i (mod 256) at one pixel row per 256: traceable crops."""
  name = 'arrays'

  def __init__(self, n, size=12):
    self.n, self.size = n, size

  def __len__(self):
    return self.n

  def __getitem__(self, i):
    image = np.zeros((self.size, self.size, 1), np.uint8)
    image[0, 0, 0], image[0, 1, 0] = i % 256, i // 256
    return {'target': image}

  @staticmethod
  def ids(batch):
    return [int(b[0, 0, 0]) + 256 * int(b[0, 1, 0]) for b in batch['target']]


def test_loader_order_shards_and_resume():
  src = ArraySource(40)
  kwargs = dict(global_batch=8, image_size=(12, 12), seed=3, num_workers=2)
  whole = TrainBatches(src, **kwargs)
  reference = [ArraySource.ids(next(whole)) for _ in range(7)]  # crosses an epoch (5 steps)
  whole.close()
  first_epoch = sum(reference[:5], [])
  assert sorted(first_epoch) == list(range(40))  # every image once per epoch
  assert reference[5:] != reference[:2]  # a new permutation each epoch
  # Two processes: disjoint halves that concatenate to the global batch.
  shards = [TrainBatches(src, process_index=p, process_count=2, **kwargs) for p in (0, 1)]
  for step in range(7):
    halves = [ArraySource.ids(next(s)) for s in shards]
    assert not set(halves[0]) & set(halves[1])
    assert halves[0] + halves[1] == reference[step]
  for s in shards:
    s.close()
  # Resuming at step 4 continues the same order.
  resumed = TrainBatches(src, start_step=4, **kwargs)
  assert [ArraySource.ids(next(resumed)) for _ in range(3)] == reference[4:]
  resumed.close()


def test_a_saved_grain_state_resumes_with_the_batch_of_a_fresh_start(caplog):
  src = ArraySource(40)
  kwargs = dict(global_batch=8, image_size=(12, 12), seed=3, num_workers=2)
  first = TrainBatches(src, **kwargs)
  for _ in range(6):  # into the second epoch (5 steps each)
    next(first)
  state = json.loads(json.dumps(first.get_state()))  # what a checkpoint holds
  following = ArraySource.ids(next(first))
  first.close()
  assert state['step'] == 6 and state['grain'] == {'next_index': 6}
  fresh = TrainBatches(src, start_step=6, **kwargs)
  restored = TrainBatches(src, start_step=6, state=state, **kwargs)
  assert ArraySource.ids(next(restored)) == ArraySource.ids(next(fresh)) == following
  assert restored.get_state() == dict(state, step=7, grain={'next_index': 7})
  for it in (fresh, restored):
    it.close()
  # A state that does not fit the resumed step (or the layout) is ignored with a warning.
  with caplog.at_level(logging.WARNING):
    other = TrainBatches(src, start_step=7, state=state, **kwargs)
  assert 'does not fit this run' in caplog.text
  assert other.get_state()['origin'] == 7
  other.close()


def test_worker_processes_give_the_threads_batches_and_count_skips(mixed):
  root, _ = mixed
  src = CachedSource(FolderSource(root, 1).checked(), 2**24)  # picklable: each worker a cache
  kwargs = dict(global_batch=4, image_size=(16, 16), seed=1, num_workers=1)
  threads = TrainBatches(src, **kwargs)
  reference = [next(threads)['target'] for _ in range(8)]
  threads.close()
  procs = TrainBatches(src, worker_processes=2, **kwargs)
  got = [next(procs)['target'] for _ in range(5)]
  state = json.loads(json.dumps(procs.get_state()))
  got += [next(procs)['target'] for _ in range(3)]
  # The truncated JPEG was met in a worker; its skip came back with the batch.
  assert list(procs.skipped) == list(threads.skipped) == [os.path.join(root, 'cut.jpg')]
  procs.close()
  np.testing.assert_array_equal(got, reference)
  resumed = TrainBatches(src, worker_processes=2, start_step=5, state=state, **kwargs)
  np.testing.assert_array_equal([next(resumed)['target'] for _ in range(3)], reference[5:])
  assert resumed.get_state()['origin'] == 0  # continued grain's saved iterator
  resumed.close()


def test_random_crops_and_patches_per_image():
  image = image_files.smooth_image(0, 64, 64)
  class One:
    name = 'one'
    def __len__(self):
      return 2
    def __getitem__(self, i):
      return {'target': image}
  batches = TrainBatches(One(), global_batch=8, image_size=(16, 16), seed=0, patches_per_image=4)
  assert batches.steps_per_epoch == 1
  batch = next(batches)['target']
  batches.close()
  assert len({b.tobytes() for b in batch}) == 8  # eight different patches of two images
  with pytest.raises(input_pipeline.DataError, match='fewer than one batch'):
    TrainBatches(One(), global_batch=8, image_size=(16, 16))


def test_sidd_style_pairs_match_and_crop_together(tmp_path):
  for i in range(3):
    clean = image_files.smooth_image(i, 40, 50, 3)
    image_files.write(str(tmp_path / 'gt' / f'GT_{i}.png'), Image.fromarray(clean))
    image_files.write(str(tmp_path / 'noisy' / f'NOISY_{i}.png'), Image.fromarray(clean // 2))
  spec = f'pairs:{tmp_path / "noisy"},{tmp_path / "gt"}'
  src = open_source(spec, data_config(channels=3).data, 'all')
  assert src.paired and len(src) == 3 and src.pairs[0] == ('NOISY_0.png', 'GT_0.png')
  batches = TrainBatches(src, global_batch=3, image_size=(16, 16), seed=1)
  batch = next(batches)
  batches.close()
  assert batch['input'].shape == batch['target'].shape == (3, 16, 16, 3)
  np.testing.assert_array_equal(batch['input'], batch['target'] // 2)  # same crop of both
  # A low-resolution partner (half the size) is cropped at the same place on its own grid.
  for i in range(3):
    clean = image_files.smooth_image(i, 40, 50, 3)
    image_files.write(str(tmp_path / 'small' / f'NOISY_{i}.png'),
                      Image.fromarray(clean[::2, ::2]))
  src = open_source(f'pairs:{tmp_path / "small"},{tmp_path / "gt"}', data_config(channels=3).data,
                    'all')
  batches = TrainBatches(src, global_batch=3, image_size=(16, 16), seed=1)
  batch = next(batches)
  batches.close()
  assert batch['input'].shape == (3, 8, 8, 3) and batch['target'].shape == (3, 16, 16, 3)
  np.testing.assert_array_equal(batch['input'], batch['target'][:, ::2, ::2])
  assert input_pipeline.dataset_name(spec) == f'pairs_{tmp_path.name}'
  assert input_pipeline.is_paired(spec) and not input_pipeline.is_paired('folder:x')


def test_pair_matching_rules_and_errors(tmp_path):
  assert pairs.pair_key('a/NOISY_SRGB_010.PNG') == pairs.pair_key('a/GT_SRGB_010.png')
  assert pairs.pair_key('x/img-3.jpg') == pairs.pair_key('x/img-3.png') != pairs.pair_key('img-3.png')
  for name in ('a.png', 'b.png'):
    image_files.write(str(tmp_path / 'n' / name), Image.new('L', (8, 8)))
  image_files.write(str(tmp_path / 'c' / 'a.png'), Image.new('L', (8, 8)))
  image_files.write(str(tmp_path / 'c' / 'z.png'), Image.new('L', (8, 8)))
  with pytest.raises(SourceError, match=r'1 noisy image\(s\) without a clean partner .*b\.png.*'
                     r'1 clean image\(s\) without a noisy partner .*z\.png'):
    open_source(f'pairs:{tmp_path / "n"},{tmp_path / "c"}', data_config().data, 'all')
  with pytest.raises(SourceError, match='two folders'):
    open_source(f'pairs:{tmp_path / "n"}', data_config().data, 'all')
  image_files.write(str(tmp_path / 'n2' / 'a.png'), Image.new('L', (8, 8)))
  image_files.write(str(tmp_path / 'n2' / 'noisy_a.png'), Image.new('L', (8, 8)))
  with pytest.raises(SourceError, match='same name once role words are ignored'):
    open_source(f'pairs:{tmp_path / "n2"},{tmp_path / "c"}', data_config().data, 'all')


def test_shared_sidd_pairs_load_as_a_real_noise_eval_set():
  from conftest import shared_dataset  # pylint: disable=g-import-not-at-top
  root = shared_dataset('sidd_samples')
  config = data_config(channels=3, eval=f'pairs:{root}/noisy,{root}/gt', num_eval=2)
  eval_set = input_pipeline.load_eval_set(config)
  assert eval_set.name == 'pairs_sidd_samples'
  assert eval_set.targets.shape == eval_set.inputs.shape == (2, 100, 100, 3)
  assert 0 < np.abs(eval_set.targets.astype(int) - eval_set.inputs).mean() < 30  # real, mild noise


def test_cache_decodes_once_evicts_least_recent_and_remembers_failures():
  calls = []
  class Counting:
    name = 'counting'
    def __len__(self):
      return 4
    def __getitem__(self, i):
      calls.append(i)
      if i == 3:
        raise image_io.ImageReadError('three.png', 'broken')
      return {'target': np.full((10, 10, 1), i, np.uint8)}  # 100 bytes
  cached = CachedSource(Counting(), max_bytes=250)  # room for two images
  for i in (0, 1, 0, 2, 0, 1):
    assert cached[i]['target'][0, 0, 0] == i
  assert calls == [0, 1, 2, 1]  # 1 was evicted by 2 (0 had been used more recently)
  for _ in range(2):
    with pytest.raises(image_io.ImageReadError):
      cached[3]
  assert calls.count(3) == 1
