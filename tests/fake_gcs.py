"""A fake `gs://` for tests: every `gs://bucket/key` that epath or Orbax's TensorStore touches is
stored under one local folder, `<root>/bucket/key`.

Why a fake and not fsspec's `memory://`: a run's checkpoints are written by two layers, epath
(Orbax's step folders, commit markers, metadata) and TensorStore (the arrays), and both must see
the same objects. TensorStore's `memory` kvstore lives inside one `ts.Context`, and Orbax opens a
new context per save and restore, so what one save wrote, no restore could read. Here both layers
are redirected to one folder, while every path the code under test handles still reads `gs://`:
Orbax takes its GCS code paths (commit-file instead of rename, no atomic directory moves), and any
output written through `open()`/`os.path` instead of epath lands in a local `gs:` folder of the
current directory, which the tests check for.
"""
from __future__ import annotations

import contextlib
import os
from unittest import mock

from etils.epath import backend, gpath
from orbax.checkpoint._src.path import gcs_utils

PREFIX = 'gs://'


class LocalBucketBackend(backend._OsPathBackend):  # pylint: disable=protected-access
  """epath's local backend, with `gs://bucket/key` read as `<root>/bucket/key`."""

  def __init__(self, root: str):
    self.root = root

  def local(self, path) -> str:
    path = os.fspath(path)
    return os.path.join(self.root, path[len(PREFIX):]) if path.startswith(PREFIX) else path

  def remote(self, path) -> str:
    rel = os.path.relpath(os.fspath(path), self.root)
    return PREFIX + rel

  def open(self, path, mode):
    return super().open(self.local(path), mode)

  def exists(self, path):
    return super().exists(self.local(path))

  def isdir(self, path):
    return super().isdir(self.local(path))

  def listdir(self, path):
    return super().listdir(self.local(path))

  def glob(self, path):
    return [self.remote(p) for p in super().glob(self.local(path))]

  def walk(self, top, *, top_down=True, on_error=None):
    for root, dirs, files in super().walk(self.local(top), top_down=top_down, on_error=on_error):
      yield self.remote(root), dirs, files

  def makedirs(self, path, *, exist_ok=False, mode=None):
    return super().makedirs(self.local(path), exist_ok=exist_ok, mode=mode)

  def mkdir(self, path, *, exist_ok=False, mode=None):
    return super().mkdir(self.local(path), exist_ok=exist_ok, mode=mode)

  def rmtree(self, path):
    return super().rmtree(self.local(path))

  def remove(self, path):
    return super().remove(self.local(path))

  def rename(self, path, dst):
    return super().rename(self.local(path), self.local(dst))

  def replace(self, path, dst):
    return super().replace(self.local(path), self.local(dst))

  def copy(self, path, dst, overwrite):
    return super().copy(self.local(path), self.local(dst), overwrite)

  def stat(self, path):
    return super().stat(self.local(path))


@contextlib.contextmanager
def fake_gcs(root: str):
  """Within the block, `gs://` paths live under `root` (for epath and for Orbax's TensorStore)."""
  fake = LocalBucketBackend(root)

  def kvstore(path: str) -> dict:
    # TensorStore's own `file` driver on the same folder, in place of its `gcs` driver.
    return {'driver': 'file', 'path': fake.local(path)}

  with contextlib.ExitStack() as stack:
    stack.enter_context(mock.patch.dict(gpath._PREFIX_TO_BACKEND, {'gs': fake}))  # pylint: disable=protected-access
    # With TensorFlow installed epath would send gs:// to tf.io.gfile, i.e. to the network.
    stack.enter_context(mock.patch.object(gpath, '_is_tf_installed', lambda: False))
    stack.enter_context(mock.patch.object(gcs_utils, 'get_kvstore_for_gcs', kvstore))
    # Orbax asks the bucket (google-cloud-storage, over the network) whether it is hierarchical.
    stack.enter_context(mock.patch.object(gcs_utils, 'is_hierarchical_namespace_enabled',
                                          lambda path: False))
    yield fake
