"""Keys named by strings, so that a degraded image depends only on a seed and its own name: not on
which other files are present, in what order they are read, or on which device."""
import zlib

import jax


def named_key(seed: int, name: str) -> jax.Array:
  """fold_in(key(seed), crc32(name)): e.g. an evaluation row's key ('gaussian'), a file's
  ('faces/0001.png'), a test image's ('bsd68/test001.png')."""
  return jax.random.fold_in(jax.random.key(seed), zlib.crc32(name.encode()) & 0x7FFFFFFF)
