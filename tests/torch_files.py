"""Writes PyTorch zip checkpoints (`torch.save(state_dict)`'s format) byte by byte, well-formed or
crafted, without torch: the pickle is assembled from protocol-2 opcodes, so a test can declare any
size, stride or storage record it likes."""
import struct
import zipfile

import numpy as np


def _text(s: str) -> bytes:
  data = s.encode()
  return b'X' + struct.pack('<I', len(data)) + data  # BINUNICODE


def _int(n: int) -> bytes:
  if -2**31 <= n < 2**31:
    return b'J' + struct.pack('<i', n)  # BININT
  data = n.to_bytes((n.bit_length() + 8) // 8, 'little', signed=True)
  return b'\x8a' + bytes([len(data)]) + data  # LONG1


def _tuple(items) -> bytes:
  return b'(' + b''.join(items) + b't'  # MARK ... TUPLE


def _global(module: str, name: str) -> bytes:
  return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def _empty_ordered_dict() -> bytes:
  return _global('collections', 'OrderedDict') + b')R'  # OrderedDict()


def tensor(key: str, numel: int, size, stride, offset: int = 0,
           storage: str = 'FloatStorage') -> bytes:
  """The opcodes of torch._utils._rebuild_tensor_v2(storage `key` of `numel` elements, ...)."""
  pid = _tuple([_text('storage'), _global('torch', storage), _text(key), _text('cpu'),
                _int(numel)]) + b'Q'  # BINPERSID
  args = _tuple([pid, _int(offset), _tuple(_int(s) for s in size),
                 _tuple(_int(s) for s in stride), b'\x89', _empty_ordered_dict()])
  return _global('torch._utils', '_rebuild_tensor_v2') + args + b'R'


def state_dict(entries: dict) -> bytes:
  """A pickle of OrderedDict(name -> tensor opcodes)."""
  items = b''.join(_text(k) + v for k, v in entries.items())
  return b'\x80\x02' + _empty_ordered_dict() + b'(' + items + b'u' + b'.'


def raw(opcodes: bytes) -> bytes:
  """A pickle of whatever object `opcodes` build."""
  return b'\x80\x02' + opcodes + b'.'


def write(path, pickle_bytes: bytes, storages: dict) -> str:
  """A torch zip file: archive/data.pkl, archive/byteorder and archive/data/<key> records
  (`storages` maps keys to arrays or raw bytes)."""
  with zipfile.ZipFile(path, 'w') as archive:
    archive.writestr('archive/data.pkl', pickle_bytes)
    archive.writestr('archive/byteorder', 'little')
    for key, value in storages.items():
      data = value if isinstance(value, bytes) else np.ascontiguousarray(value, '<f4').tobytes()
      archive.writestr(f'archive/data/{key}', data)
  return str(path)
