"""PyTorch state dicts -> NumPy arrays -> Flax variables, without torch and without running pickles.

Why: the studies' trained weights are `torch.save(model.state_dict())` files, i.e. pickles, and
unpickling runs whatever code the file names. A plain state dict needs only a handful of globals
(OrderedDict, torch's tensor-rebuild function, storage type tags), so `load_state_dict` reads
torch's zip format (`<dir>/data.pkl` + raw storages `<dir>/data/<key>`) with an unpickler that
allows exactly those and refuses anything else with `RefusedGlobalError`, before calling it.
It needs neither torch nor network access, so checkpoints can be imported on any machine. A crafted
file costs no more memory than the model's own weights: every storage record's size is checked
against what the pickle declares and against the model's variable count before it is read, tensors
are views of their storage that may not declare more elements than it holds, and each is copied
only once its shape is known to fit the model; anything malformed is one `MalformedCheckpoint`
line.

`to_flax_variables` then pairs the state dict's modules with the Flax model's, both in definition
order (the order torch registers submodules and Flax creates them), converts layouts (see
`_convert`) and checks every shape; any disagreement raises `WeightMismatchError` naming the tensor
and both shapes. The weights of Psychalas, "Exploring Convolutional Auto-encoders for Image
Denoising" (2024), `shared/checkpoints/psychalas2024/*.pt`, are what this was written for.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import zipfile
from typing import Any, Dict, List, Tuple

import flax.linen as nn
import jax
import numpy as np

from aedenoise.errors import UserError, first_line
from aedenoise.models import contract, layers


class MalformedCheckpoint(UserError, pickle.UnpicklingError):
  """The file is not a well-formed state dict of plain tensors; nothing large was allocated."""


class RefusedGlobalError(MalformedCheckpoint):
  """The pickle names a global that a plain state dict does not need; nothing was called."""


class WeightMismatchError(UserError, ValueError):
  """The state dict does not fit the model (module count, kind or a tensor's shape)."""


class _StorageType:
  """Stands in for torch's `FloatStorage` etc.: only says which dtype the raw bytes hold."""

  def __init__(self, name: str, dtype: str):
    self.name, self.dtype = name, dtype


_STORAGES = {
    'DoubleStorage': 'f8', 'FloatStorage': 'f4', 'HalfStorage': 'f2', 'BFloat16Storage': 'bf16',
    'LongStorage': 'i8', 'IntStorage': 'i4', 'ShortStorage': 'i2', 'CharStorage': 'i1',
    'ByteStorage': 'u1', 'BoolStorage': '?',
}


def _integers(value, what: str) -> tuple[int, ...]:
  if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) for v in value):
    raise MalformedCheckpoint(f'a tensor\'s {what} is {value!r}, not a tuple of integers')
  return tuple(value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
  """torch._utils._rebuild_tensor_v2 for a NumPy storage: a read-only strided view of it, after
  checking that the view lies inside the storage and holds no more elements than it (a stride of
  0 could otherwise declare any number). Nothing is copied: `to_flax_variables` copies a tensor
  once its shape is known to fit the model."""
  del requires_grad, backward_hooks, metadata
  if not isinstance(storage, np.ndarray):
    raise MalformedCheckpoint(f'a tensor is built on {type(storage).__name__}, not a storage')
  size, stride = _integers(size, 'size'), _integers(stride, 'stride')
  if not isinstance(storage_offset, int) or storage_offset < 0:
    raise MalformedCheckpoint(f'a tensor has storage offset {storage_offset!r}')
  if len(size) != len(stride) or any(s < 0 for s in size + stride):
    raise MalformedCheckpoint(f'bad tensor geometry size={size} stride={stride}')
  numel = int(np.prod(size, dtype=object))
  if numel > storage.size:
    raise MalformedCheckpoint(f'a tensor of size {size} declares {numel:,} elements, more than '
                              f'its storage holds ({storage.size:,})')
  if numel == 0:
    return np.zeros(size, storage.dtype)
  last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
  if last >= storage.size:
    raise MalformedCheckpoint(f'tensor size={size} stride={stride} offset={storage_offset} '
                              f'reads past its storage of {storage.size:,} elements')
  return np.lib.stride_tricks.as_strided(storage[storage_offset:], size,
                                         tuple(s * storage.itemsize for s in stride),
                                         writeable=False)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
  del requires_grad, backward_hooks
  return data


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}
_ALLOWED.update({('torch', name): _StorageType for name in _STORAGES})


class _StateDictUnpickler(pickle.Unpickler):
  """Resolves only the allowed globals; storages come from the zip, read as NumPy arrays after
  their record's size is checked against what the pickle declares and against `max_elements`."""

  def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str,
               max_elements: int | None):
    super().__init__(file)
    self._archive, self._prefix, self._byteorder = archive, prefix, byteorder
    self._storages: Dict[str, np.ndarray] = {}
    self._budget = max_elements

  def find_class(self, module, name):
    try:
      found = _ALLOWED[(module, name)]
    except KeyError:
      raise RefusedGlobalError(
          f'refused global {module}.{name}: a plain state dict only needs '
          f'{sorted(".".join(k) for k in _ALLOWED)}') from None
    if found is _StorageType:  # a fresh tag, so no pickle can alter the tags other loads see
      return _StorageType(name, _STORAGES[name])
    return found

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == 'storage'
            and isinstance(pid[1], _StorageType) and isinstance(pid[4], int) and pid[4] >= 0):
      raise MalformedCheckpoint(f'unsupported persistent id {str(pid)[:100]}')
    _, storage_type, key, _, numel = pid
    key = str(key)
    if key not in self._storages:
      self._storages[key] = self._read_storage(key, storage_type.dtype, numel)
    storage = self._storages[key]
    if storage.size < numel:
      raise MalformedCheckpoint(f'storage {key} holds {storage.size:,} < {numel:,} elements')
    return storage

  def _read_storage(self, key: str, dtype: str, numel: int) -> np.ndarray:
    record = f'{self._prefix}data/{key}'
    try:
      info = self._archive.getinfo(record)
    except KeyError:
      raise MalformedCheckpoint(f'the storage record {record} is missing') from None
    itemsize = 2 if dtype == 'bf16' else np.dtype(dtype).itemsize
    if info.file_size != numel * itemsize:
      raise MalformedCheckpoint(f'the storage record {record} holds {info.file_size:,} bytes, '
                                f'not the {numel:,} x {itemsize} the pickle declares')
    if self._budget is not None and numel > 1:  # scalars (BatchNorm's counters) are free
      if numel > self._budget:
        raise MalformedCheckpoint(f'its storages declare more elements than the model has '
                                  f'variables (storage {key}: {numel:,}); not weights of this '
                                  f'model')
      self._budget -= numel
    return _decode_storage(self._archive.read(record), dtype, self._byteorder)


def _decode_storage(raw: bytes, dtype: str, byteorder: str) -> np.ndarray:
  order = '<' if byteorder == 'little' else '>'
  if dtype == 'bf16':  # bfloat16 is the upper half of a float32
    halves = np.frombuffer(raw, order + 'u2').astype(np.uint32)
    return (halves << 16).view(np.float32)
  dt = np.dtype(dtype)
  if byteorder != sys.byteorder:
    dt = dt.newbyteorder(order)
  return np.frombuffer(raw, dt)


def _check_state(state) -> None:
  """MalformedCheckpoint unless `state` maps names to tensors."""
  if not isinstance(state, dict):
    raise MalformedCheckpoint(f'it holds an object of type {type(state).__name__}, not a state '
                              f'dict (a dict of tensors, as model.state_dict() gives)')
  for key, value in state.items():
    if not isinstance(key, str) or not isinstance(value, np.ndarray):
      hint = (' (a whole training checkpoint? save model.state_dict() alone)'
              if isinstance(value, dict) else '')
      raise MalformedCheckpoint(f'its entry {str(key)[:60]!r} is of type {type(value).__name__}, '
                                f'not a tensor{hint}')


# What a crafted pickle makes the reader's own code raise; each means a malformed file.
_MALFORMED = (pickle.UnpicklingError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError,
              TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
              RecursionError, MemoryError, UnicodeDecodeError, struct.error)


def load_state_dict(path: str, max_elements: int | None = None) -> Dict[str, np.ndarray]:
  """Reads a `torch.save(state_dict)` zip file into {name: read-only np.ndarray}, in the file's
  order. `max_elements` (the model's variable count) bounds the storages read: a file that
  declares more is refused before its bytes are read.

  Raises:
    MalformedCheckpoint (a UserError): one line naming `path`, for any file that is not a state
      dict of plain tensors (RefusedGlobalError: the pickle names a global outside the allowlist).
  """
  try:
    with zipfile.ZipFile(path) as archive:
      pickles = [n for n in archive.namelist() if n.endswith('data.pkl') and n.count('/') == 1]
      if len(pickles) != 1:
        raise MalformedCheckpoint('not a torch zip checkpoint (no <dir>/data.pkl)')
      prefix = pickles[0][:-len('data.pkl')]
      byteorder = 'little'
      if prefix + 'byteorder' in archive.namelist():
        byteorder = archive.read(prefix + 'byteorder').decode().strip()
        if byteorder not in ('little', 'big'):
          raise MalformedCheckpoint(f'unknown byte order {byteorder[:20]!r}')
      unpickler = _StateDictUnpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix,
                                      byteorder, max_elements)
      state = unpickler.load()
    _check_state(state)
  except RefusedGlobalError as e:
    raise RefusedGlobalError(f'{path}: {e}') from None
  except _MALFORMED as e:
    reason = str(e) if isinstance(e, MalformedCheckpoint) else first_line(e)
    raise MalformedCheckpoint(f'{path}: not a readable PyTorch state dict: {reason}') from None
  return dict(state)


def model_size(model: nn.Module, input_shape) -> int:
  """How many elements the model's variables hold in all (traced, not computed)."""
  rngs = {k: jax.random.key(0) for k in (contract.PARAMS, *contract.RNGS)}
  _, shapes = _flax_modules(model, input_shape, rngs)
  return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(shapes)))


# ---------------------------------------------------------------------------------------------
# State dict -> Flax variables.


def _torch_modules(state_dict) -> List[Tuple[str, Dict[str, np.ndarray]]]:
  """Groups 'enc1.weight', 'enc1.bias', ... by module prefix, in first-appearance order."""
  modules: Dict[str, Dict[str, np.ndarray]] = {}
  for name, value in state_dict.items():
    prefix, _, leaf = name.rpartition('.')
    if leaf != 'num_batches_tracked':
      modules.setdefault(prefix, {})[leaf] = value
  return list(modules.items())


def _flax_modules(model: nn.Module, input_shape, rngs) -> Tuple[List[Tuple[tuple, type]], Any]:
  """The model's modules that own variables, in creation order, with their classes, and the
  variable shapes (without computing anything: `jax.eval_shape`)."""
  calls: Dict[tuple, type] = {}

  def record(next_fun, args, kwargs, context):
    if context.method_name == '__call__':
      calls.setdefault(tuple(context.module.path), type(context.module))
    return next_fun(*args, **kwargs)

  def init(x):
    with nn.intercept_methods(record):
      return model.init(rngs, x)

  shapes = jax.eval_shape(init, jax.ShapeDtypeStruct(tuple(input_shape), np.float32))
  shapes = {k: v for k, v in shapes.items() if k != contract.LOSSES}
  owners = set()
  for tree in shapes.values():
    for path, _ in jax.tree_util.tree_leaves_with_path(tree):
      owners.add(tuple(k.key for k in path[:-1]))
  return [(p, cls) for p, cls in calls.items() if p in owners], shapes


# A torch tensor is a trained parameter or a module's state (BatchNorm's running statistics), which
# lives in whichever non-parameter collection the Flax module keeps it.
PARAM, STATE = 'param', 'state'


def _convert(cls: type, leaf: str, w: np.ndarray) -> Tuple[str, str, np.ndarray]:
  """(PARAM or STATE, flax name, array) for one torch tensor of a module of Flax class `cls`."""
  if issubclass(cls, nn.BatchNorm):
    return {'weight': (PARAM, 'scale', w), 'bias': (PARAM, 'bias', w),
            'running_mean': (STATE, 'mean', w), 'running_var': (STATE, 'var', w)}[leaf]
  if leaf == 'bias':
    return PARAM, 'bias', w
  if issubclass(cls, nn.Conv) and w.ndim == 4:  # Conv2d (out, in, kh, kw) -> (kh, kw, in, out)
    return PARAM, 'kernel', w.transpose(2, 3, 1, 0)
  if issubclass(cls, layers.ConvTranspose) and w.ndim == 4:
    # ConvTranspose2d (in, out, kh, kw); ours is lax.conv_transpose without kernel transposition,
    # i.e. a correlation, so torch's kernel is flipped spatially.
    return PARAM, 'kernel', w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)
  if issubclass(cls, nn.Dense) and w.ndim == 2:  # Linear (out, in) -> (in, out)
    return PARAM, 'kernel', w.T
  if issubclass(cls, nn.PReLU) and w.size == 1:
    return PARAM, 'negative_slope', w.reshape(())
  raise KeyError(leaf)


def _collection(kind: str, name: str, expected: dict) -> str:
  """The collection a converted tensor goes to: the parameters, or the state collection in which
  the module keeps `name`."""
  if kind == PARAM:
    return contract.PARAMS
  return next(c for c in expected if c != contract.PARAMS and name in expected[c])


def to_flax_variables(state_dict: Dict[str, np.ndarray], model: nn.Module,
                      input_shape) -> Dict[str, Any]:
  """Maps a torch state dict onto `model`'s variables: its parameters and state collections.

  Modules are paired in definition order (torch's registration order, Flax's creation order);
  names need not agree. `input_shape` (NHWC) is only used to trace the model's variable shapes.

  Raises:
    WeightMismatchError: different module counts, a tensor the Flax module has no place for, a
      missing tensor, or a shape that differs after the layout conversion.
  """
  rngs = {k: jax.random.key(0) for k in (contract.PARAMS, *contract.RNGS)}
  flax_modules, shapes = _flax_modules(model, input_shape, rngs)
  torch_modules = _torch_modules(state_dict)
  if len(flax_modules) != len(torch_modules):
    raise WeightMismatchError(
        f'state dict has {len(torch_modules)} modules ({", ".join(n for n, _ in torch_modules)}), '
        f'model has {len(flax_modules)} ({", ".join("/".join(p) for p, _ in flax_modules)})')
  out: Dict[str, Dict] = {c: {} for c in shapes}
  for (tname, tensors), (path, cls) in zip(torch_modules, flax_modules):
    where = '/'.join(path)
    expected = {c: dict(_subtree(shapes[c], path)) for c in out if _subtree(shapes[c], path)}
    filled = set()
    for leaf, w in tensors.items():
      try:
        kind, fname, value = _convert(cls, leaf, np.asarray(w))
        collection = _collection(kind, fname, expected)
        target = expected[collection][fname]
      except (KeyError, StopIteration):
        raise WeightMismatchError(f'{tname}.{leaf} {tuple(w.shape)} has no place in {cls.__name__} '
                                  f'{where} {_shapes_of(expected)}') from None
      if value.shape != target.shape:
        raise WeightMismatchError(f'{tname}.{leaf} {tuple(w.shape)} -> {where}/{fname}: converted '
                                  f'shape {value.shape}, model expects {target.shape}')
      node = out[collection]
      for key in path:
        node = node.setdefault(key, {})
      node[fname] = np.array(value, target.dtype, order='C')
      filled.add((collection, fname))
    missing = [f'{c}/{n}' for c in expected for n in expected[c] if (c, n) not in filled]
    if missing:
      raise WeightMismatchError(f'{tname} ({", ".join(tensors)}) leaves {where} without {missing}')
  return out


def _subtree(tree, path):
  for key in path:
    tree = tree.get(key, {})
  return {k: v for k, v in tree.items() if not isinstance(v, dict)}


def _shapes_of(expected):
  return {f'{c}/{n}': tuple(v.shape) for c in expected for n, v in expected[c].items()}
