"""The restricted torch checkpoint reader and the torch -> Flax weight mapping, on the trained
weights of Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024)."""
import collections
import os
import pickle
import zipfile

import jax
import numpy as np
import pytest
from PIL import Image

from aedenoise.configs import cifar_model_c
from aedenoise.evaluation import evaluate_checkpoint
from aedenoise.models import MODELS as STUDY_MODELS
from aedenoise.models import image_quality, layers
from aedenoise.restoration import degrade_files
from aedenoise.training import importing, torch_import
from conftest import SHARED_DATA, shared_dataset

CHECKPOINTS = os.path.join(os.path.dirname(SHARED_DATA), 'checkpoints', 'psychalas2024')
# checkpoint -> (model, widths of its two encoder stages); 5,539 and 80,515 trainable tensors.
WEIGHTS = {'35.pt': ('cifar_model_b_small', (8, 16), 5_539),
           '38.pt': ('cifar_model_c', (32, 64), 80_515)}


def _checkpoint(name):
  path = os.path.join(CHECKPOINTS, name)
  if not os.path.isfile(path):
    pytest.skip(f'{path} not found (the shared checkpoints sit beside the repository)')
  return path


@pytest.mark.parametrize('name', sorted(WEIGHTS))
def test_reads_the_studys_state_dicts(name):
  state = torch_import.load_state_dict(_checkpoint(name))
  _, (a, b), trainable = WEIGHTS[name]
  assert len(state) == 51
  assert state['enc1.weight'].shape == (a, 3, 3, 3)  # Conv2d (out, in, kh, kw)
  assert state['enc4.weight'].shape == (b, b, 2, 2)
  assert state['dec2.weight'].shape == (b, a, 3, 3)  # ConvTranspose2d (in, out, kh, kw)
  assert state['dec4.weight'].shape == (a, 3, 3, 3)
  assert state['batch_enc3.running_var'].shape == (b,)
  assert state['batch_enc1.num_batches_tracked'].shape == ()
  assert state['batch_enc1.num_batches_tracked'].dtype == np.int64
  assert state['enc1.weight'].dtype == np.float32
  buffers = ('running_mean', 'running_var', 'num_batches_tracked')
  assert sum(v.size for k, v in state.items() if not k.endswith(buffers)) == trainable


@pytest.mark.parametrize('name', sorted(WEIGHTS))
def test_reader_equals_torch_load(name):
  torch = pytest.importorskip('torch', reason='torch is optional: only a cross-check')
  path = _checkpoint(name)
  ours, ref = torch_import.load_state_dict(path), torch.load(path, map_location='cpu',
                                                             weights_only=True)
  assert list(ours) == list(ref)
  for key, value in ref.items():
    np.testing.assert_array_equal(ours[key], value.numpy(), err_msg=key)


class _Eval:
  def __reduce__(self):
    return eval, ('1 + 1',)


class _Payload:
  def __init__(self, command):
    self.command = command

  def __reduce__(self):
    return os.system, (self.command,)


def test_refuses_a_malicious_pickle_without_running_it(tmp_path):
  marker = tmp_path / 'pwned'
  path = tmp_path / 'evil.pt'
  with zipfile.ZipFile(path, 'w') as archive:
    archive.writestr('archive/data.pkl', pickle.dumps({'w': _Payload(f'touch {marker}')},
                                                      protocol=2))
    archive.writestr('archive/byteorder', 'little')
  with pytest.raises(torch_import.RefusedGlobalError, match=r'refused global (posix|os)\.system'):
    torch_import.load_state_dict(str(path))
  assert not marker.exists()


def test_refuses_builtins_even_inside_a_real_looking_state_dict(tmp_path):
  path = tmp_path / 'evil.pt'
  payload = pickle.dumps(collections.OrderedDict(w=_Eval()), protocol=2)
  with zipfile.ZipFile(path, 'w') as archive:
    archive.writestr('x/data.pkl', payload)
  refused = r'refused global (__builtin__|builtins)\.eval'  # protocol 2 names the py2 module
  with pytest.raises(torch_import.RefusedGlobalError, match=refused):
    torch_import.load_state_dict(str(path))


def test_mismatches_name_the_tensor_and_both_shapes():
  state = torch_import.load_state_dict(_checkpoint('38.pt'))
  with pytest.raises(ValueError, match=r'enc1\.weight \(32, 3, 3, 3\).*\(3, 3, 3, 32\).*'
                                       r'\(3, 3, 3, 8\)'):
    torch_import.to_flax_variables(state, STUDY_MODELS['cifar_model_b_small'](), (1, 32, 32, 3))
  with pytest.raises(torch_import.WeightMismatchError, match='has 15 modules.*model has 14 '):
    torch_import.to_flax_variables(state, STUDY_MODELS['cifar_model_a'](), (1, 32, 32, 3))


def _cifar_images():
  root = os.path.join(shared_dataset('cifar10_lossless'), 'test')
  files = sorted(f for f in os.listdir(root) if f.endswith('.png'))
  return np.stack([np.asarray(Image.open(os.path.join(root, f)).convert('RGB'))
                   for f in files]).astype(np.float32) / 255


def _author_net(torch, a, b):
  """The author's `model_b.py`/`model_c.py` (same code, widths (8, 16) and (32, 64)), re-declared
  from the architecture tables with the author's module names and registration order."""
  nn = torch.nn

  class Net(nn.Module):

    def __init__(self):
      super().__init__()
      self.enc1, self.batch_enc1 = nn.Conv2d(3, a, 3, 1, 1), nn.BatchNorm2d(a)
      self.enc2, self.batch_enc2 = nn.Conv2d(a, a, 2, 2, 0), nn.BatchNorm2d(a)
      self.enc3, self.batch_enc3 = nn.Conv2d(a, b, 3, 1, 1), nn.BatchNorm2d(b)
      self.enc4, self.batch_enc4 = nn.Conv2d(b, b, 2, 2, 0), nn.BatchNorm2d(b)
      self.dec1, self.batch_dec1 = nn.ConvTranspose2d(b, b, 2, 2, 0), nn.BatchNorm2d(b)
      self.dec2, self.batch_dec2 = nn.ConvTranspose2d(b, a, 3, 1, 1), nn.BatchNorm2d(a)
      self.dec3, self.batch_dec3 = nn.ConvTranspose2d(a, a, 2, 2, 0), nn.BatchNorm2d(a)
      self.dec4 = nn.ConvTranspose2d(a, 3, 3, 1, 1)

    def forward(self, x):
      for i in range(1, 4 + 1):
        x = torch.relu(getattr(self, f'batch_enc{i}')(getattr(self, f'enc{i}')(x)))
      for i in range(1, 3 + 1):
        x = torch.relu(getattr(self, f'batch_dec{i}')(getattr(self, f'dec{i}')(x)))
      return torch.sigmoid(self.dec4(x))

  return Net()


@pytest.mark.parametrize('name,conv_impl', [('35.pt', 'lax'), ('38.pt', 'lax'),
                                            ('38.pt', 'matmul')])
def test_imported_weights_reproduce_the_authors_pytorch_model(name, conv_impl):
  torch = pytest.importorskip('torch', reason='torch is optional: needed only for this check')
  path = _checkpoint(name)
  model_name, (a, b), _ = WEIGHTS[name]
  images = _cifar_images()
  net = _author_net(torch, a, b)
  net.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
  net.eval()
  with torch.no_grad():
    expected = net(torch.from_numpy(images.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  model = STUDY_MODELS[model_name]()
  variables = torch_import.to_flax_variables(torch_import.load_state_dict(path), model,
                                             images.shape)
  assert set(variables) == {'params', 'batch_stats'}
  got = jax.nn.sigmoid(jax.jit(layers.traced_with(conv_impl, model.apply))(variables, images))
  assert got.shape == (20, 32, 32, 3)
  np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=1e-5)


def test_deconv_sr_net_matches_torch_with_ported_random_weights():
  """The transposed convolutions with padding (k3 s2 p1, k4 s1 p1) and their odd output sizes."""
  torch = pytest.importorskip('torch', reason='torch is optional: needed only for this check')
  torch.manual_seed(0)
  nn = torch.nn
  net = nn.Sequential(nn.ConvTranspose2d(3, 10, 3, 1, 1), nn.ReLU(),
                      nn.ConvTranspose2d(10, 20, 3, 2, 1), nn.ReLU(),
                      nn.ConvTranspose2d(20, 3, 4, 1, 1))
  x = np.random.default_rng(0).random((2, 7, 9, 3)).astype(np.float32)
  with torch.no_grad():
    expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  state = {k: v.numpy() for k, v in net.state_dict().items()}
  model = STUDY_MODELS['sr_deconv']()
  variables = torch_import.to_flax_variables(state, model, x.shape)
  for conv_impl in layers.IMPLS:
    with layers.using(conv_impl):
      got = model.apply(variables, x)
    assert got.shape == expected.shape == (2, 14, 18, 3)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=1e-5)


def test_align_corners_upsampling_matches_torch():
  torch = pytest.importorskip('torch', reason='torch is optional: needed only for this check')
  x = np.random.default_rng(0).random((2, 6, 5, 3)).astype(np.float32)
  with torch.no_grad():
    expected = torch.nn.UpsamplingBilinear2d(scale_factor=4)(
        torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  got = image_quality.upsample_bilinear_align_corners(x, 4)
  np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=1e-5)


def test_resnet_sr_net_matches_torch_with_ported_random_weights():
  """Align-corners upsampling, pre-activation BatchNorm, two PReLUs per block, eval mode."""
  torch = pytest.importorskip('torch', reason='torch is optional: needed only for this check')
  torch.manual_seed(0)
  nn = torch.nn

  def block(prelu):
    layers = [nn.BatchNorm2d(8)] + ([nn.PReLU()] if prelu else []) + [
        nn.Conv2d(8, 8, 3, 1, 1), nn.Dropout(0.1), nn.Conv2d(8, 8, 3, 1, 1)]
    return nn.Sequential(*layers, *([nn.PReLU()] if prelu else []))

  class Net(nn.Module):

    def __init__(self):
      super().__init__()
      self.up, self.conv_in = nn.UpsamplingBilinear2d(scale_factor=4), nn.Conv2d(3, 8, 3, 1, 1)
      self.blocks = nn.ModuleList([block(p) for _ in range(2) for p in (True, False)])
      self.conv_out = nn.Conv2d(8, 3, 3, 1, 1)

    def forward(self, x):
      x = self.conv_in(self.up(x))
      for a, b in zip(self.blocks[::2], self.blocks[1::2]):
        x = x + b(a(x))
      return self.conv_out(x)

  net = Net()
  for m in net.modules():  # non-trivial statistics and slopes
    if isinstance(m, (nn.BatchNorm2d, nn.PReLU)):
      for t in m.state_dict().values():
        if t.is_floating_point():
          t.uniform_(0.5, 1.5)
  net.eval()
  x = np.random.default_rng(0).random((2, 4, 5, 3)).astype(np.float32)
  with torch.no_grad():
    expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
  state = {k: v.numpy() for k, v in net.state_dict().items()}
  model = STUDY_MODELS['sr_resnet'](features=8)
  variables = torch_import.to_flax_variables(state, model, x.shape)
  got = model.apply(variables, x)
  assert got.shape == (2, 16, 20, 3)
  np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=1e-5)


def test_import_mode_then_eval_on_pairs_gives_the_pytorch_psnr(tmp_path):
  """--mode=import writes a checkpoint that --mode=eval scores like the author's own model."""
  torch = pytest.importorskip('torch', reason='torch is optional: needed only for this check')
  path = _checkpoint('38.pt')
  clean_dir = os.path.join(shared_dataset('cifar10_lossless'), 'test')
  noisy_dir = str(tmp_path / 'noisy')
  spec = degrade_files.make_spec('cifar_mix', None)
  degrade_files.degrade_folder(clean_dir, noisy_dir, spec, seed=0, channels=3)
  config = cifar_model_c.get_config()
  config.data.eval = f'pairs:{noisy_dir},{clean_dir}'
  config.eval.batch_size = 8
  workdir = str(tmp_path / 'imported')
  importing.import_torch_weights(config, workdir, path)
  records = evaluate_checkpoint.run(config, workdir)
  ours = next(r for r in records if r['method'] == 'cifar_model_c')

  net = _author_net(torch, 32, 64)
  net.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
  net.eval()
  psnrs = []
  for name in sorted(os.listdir(clean_dir)):
    clean = np.asarray(Image.open(os.path.join(clean_dir, name)).convert('RGB'), np.float64) / 255
    noisy = np.asarray(Image.open(os.path.join(noisy_dir, name)), np.float32) / 255
    with torch.no_grad():
      out = net(torch.from_numpy(noisy.transpose(2, 0, 1)[None])).numpy()[0].transpose(1, 2, 0)
    out = np.round(np.clip(out, 0, 1) * 255) / 255  # the evaluation's 8-bit convention
    psnrs.append(10 * np.log10(1 / np.mean((out - clean) ** 2)))
  assert ours['images'] == len(psnrs) == 20
  assert abs(ours['psnr'] - np.mean(psnrs)) < 0.02  # measured here: 1e-4 dB apart
