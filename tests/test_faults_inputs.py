"""Input files under faults: every format Pillow reads is listed (animations by their first frame,
said so), other files are named, 16-bit grey is restored at 16 bits, unreadable files are counted
and named in every mode, pairs of the wrong sizes say so, and every write is whole or nothing."""
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from aedenoise import metrics
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate_checkpoint, scoring
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import degrade_files, restore
from aedenoise.runtime import paths
from aedenoise.training import train
from conftest import tiny_config
from image_files import smooth_image

FORMATS = ('.pgm', '.ppm', '.pnm', '.gif', '.tga', '.png', '.jpg', '.tif', '.webp', '.bmp')


def test_every_format_pillow_reads_is_listed_and_other_files_are_named(tmp_path):
  assert set(FORMATS) <= set(image_io.IMAGE_EXTENSIONS)
  assert '.h5' not in image_io.IMAGE_EXTENSIONS  # a stub: Pillow decodes none of its pixels
  for i, ext in enumerate(FORMATS):
    Image.fromarray(smooth_image(i, 9, 11, 3)).save(tmp_path / f'x{i}{ext}')
  (tmp_path / 'notes.txt').write_text('x')
  (tmp_path / '.hidden.png').write_bytes(b'x')
  listing = image_io.scan_folder(str(tmp_path))
  assert sorted(os.path.splitext(n)[1] for n in listing.images) == sorted(FORMATS)
  assert listing.ignored == ['notes.txt']
  assert image_io.ignored_note(listing, 'D') == ("ignored 1 file(s) under D whose names are not of "
                                                 "an image format Pillow reads: notes.txt")


def _png16_rgb(array) -> bytes:
  """A 16-bit RGB PNG (Pillow itself writes 16 bits for grey only)."""
  h, w, _ = array.shape
  rows = b''.join(b'\x00' + array[y].astype('>u2').tobytes() for y in range(h))

  def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
  return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0)) +
          chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def test_deep_grey_is_read_at_full_precision_and_written_at_16_bits(tmp_path):
  values = (np.arange(12 * 10).reshape(12, 10) * 523 + 7).astype(np.uint16)
  Image.fromarray(values).save(tmp_path / 'grey16.png')
  image, bits = image_io.read_float(str(tmp_path / 'grey16.png'), 1)
  assert bits == 16 and image.dtype == np.float32
  np.testing.assert_allclose(image[..., 0], values / 65535.0, atol=1e-7)
  assert image_io.read_header(str(tmp_path / 'grey16.png')).deep_grey
  image_io.write_image(tmp_path / 'out.png', image, bits=16)
  written = Image.open(tmp_path / 'out.png')
  assert written.mode.startswith('I;16')
  np.testing.assert_array_equal(np.asarray(written), values)
  (tmp_path / 'rgb16.png').write_bytes(_png16_rgb(np.full((4, 5, 3), 1000, np.uint16)))
  assert image_io.read_header(str(tmp_path / 'rgb16.png')).narrowed
  assert image_io.read_float(str(tmp_path / 'rgb16.png'), 3)[1] == 8


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  path = tmp_path_factory.mktemp('trained') / 'w'
  train.train_and_evaluate(tiny_config('single', num_train_steps=2), str(path))
  return str(path)


def test_restore_reads_any_format_keeps_16_bits_and_says_what_it_did(tmp_path, workdir, capsys):
  src = tmp_path / 'in'
  src.mkdir()
  grey = smooth_image(0, 30, 40, 1)[..., 0]
  Image.fromarray(grey).save(src / 'a.pgm')
  Image.fromarray(grey).save(src / 'b.tga')
  frames = [Image.fromarray(grey), Image.fromarray(255 - grey)]
  frames[0].save(src / 'c.gif', save_all=True, append_images=frames[1:])
  Image.fromarray(grey.astype(np.uint16) * 257 + 3).save(src / 'd.png')  # 16-bit grey
  (src / 'e.png').write_bytes(_png16_rgb(np.full((6, 7, 3), 40000, np.uint16)))
  (src / 'readme.txt').write_text('x')
  (src / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n broken')
  result = restore.restore_folder(tiny_config('single', num_train_steps=2), workdir, str(src),
                                  str(tmp_path / 'out'))
  assert sorted(os.listdir(tmp_path / 'out')) == ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']
  assert Image.open(tmp_path / 'out' / 'd.png').mode.startswith('I;16')
  assert Image.open(tmp_path / 'out' / 'a.png').mode == 'L'
  line = result['line']
  assert 'restored 5 images into' in line and '1 at 16 bits like their inputs' in line
  assert 'skipped 1 unreadable: ' in line and 'broken.png' in line
  notes = capsys.readouterr().err
  assert 'ignored 1 file(s) under' in notes and 'readme.txt' in notes
  assert '1 animated input(s), of which the first frame was used: c.gif' in notes
  assert '1 input(s) of more than 8 bits per sample were read or written at 8 bits' in notes
  assert 'e.png' in notes


def test_degrade_counts_and_names_unreadable_files(tmp_path):
  src = tmp_path / 'in'
  src.mkdir()
  Image.fromarray(smooth_image(0, 20, 20, 1)[..., 0]).save(src / 'a.png')
  for name in ('b.png', 'c.jpg', 'd.bmp', 'e.tif'):
    (src / name).write_bytes(b'not an image')
  spec = degrade_files.make_spec('gaussian', 'sigma=0.1')
  result = degrade_files.degrade_folder(str(src), str(tmp_path / 'out'), spec, 0, label='noise')
  assert result['written'] == 1 and len(result['skipped']) == 4
  assert result['line'].startswith(f'degraded 1 images with noise (seed 0) into {tmp_path}/out;')
  assert 'skipped 4 unreadable: ' in result['line'] and ' and 1 more' in result['line']
  for name in ('b.png', 'c.jpg'):
    (src / name).unlink()
  (src / 'a.png').write_bytes(b'broken too')
  with pytest.raises(UserError, match=r'none of the 3 images under .* could be read'):
    degrade_files.degrade_folder(str(src), str(tmp_path / 'out2'), spec, 0)


def test_score_skips_and_names_unreadable_pairs(tmp_path, capsys):
  for folder in ('a', 'b'):
    (tmp_path / folder).mkdir()
    Image.fromarray(smooth_image(0, 20, 20, 1)[..., 0]).save(tmp_path / folder / 'x.png')
  (tmp_path / 'a' / 'y.png').write_bytes(b'broken')
  Image.fromarray(smooth_image(1, 20, 20, 1)[..., 0]).save(tmp_path / 'b' / 'y.png')
  result = scoring.score_folders(str(tmp_path / 'a'), str(tmp_path / 'b'), metrics.Convention())
  assert result['images'] == 1 and result['skipped'] == 1
  assert 'skipped 1 unreadable: ' in capsys.readouterr().out


def test_pairs_of_the_wrong_sizes_say_so(tmp_path, workdir):
  for i in range(2):
    Image.fromarray(smooth_image(i, 120, 120, 1)[..., 0]).save(tmp_path / f'clean{i}.png')
  (tmp_path / 'clean').mkdir()
  (tmp_path / 'half').mkdir()
  (tmp_path / 'off').mkdir()
  for i in range(2):
    clean = Image.open(tmp_path / f'clean{i}.png')
    clean.save(tmp_path / 'clean' / f'{i}.png')
    clean.resize((60, 60)).save(tmp_path / 'half' / f'{i}.png')
    clean.resize((119, 119)).save(tmp_path / 'off' / f'{i}.png')
  for noisy, message in (('half', r'the degraded image of each pair is 2x smaller than its clean '
                                  r'partner \(50x50 for 100x100 crops\), but model single '
                                  r'restores at the same size'),
                         ('off', r'no readable image; all 2 skipped: .*size 119x119 does not '
                                 r'match its clean partner \(120x120\)')):
    config = tiny_config('single', **{
        'data.eval': f'pairs:{tmp_path / noisy},{tmp_path / "clean"}'})
    with pytest.raises(UserError, match=message):
      evaluate_checkpoint.run(config, workdir)


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
  target = tmp_path / 'table.md'
  target.write_text('old')
  with pytest.raises(RuntimeError):
    with paths.atomic_file(target) as f:
      f.write(b'half of the new')
      raise RuntimeError('killed midway')
  assert target.read_text() == 'old' and os.listdir(tmp_path) == ['table.md']
  paths.write_text(target, 'new')
  assert target.read_text() == 'new' and os.listdir(tmp_path) == ['table.md']
  assert oct(os.stat(target).st_mode & 0o777) == oct(0o666 & ~paths._UMASK)
