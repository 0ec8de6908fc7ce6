"""TFDS builds larger than memory without TensorFlow: the writer's spill files on the local disk.

TFDS's writer (tensorflow-datasets 4.9.x, `tensorflow_datasets/core/shuffle.py`) keeps a split's serialized
examples in memory up to `MAX_MEM_BUFFER_SIZE` (1 GiB) and then moves them to temporary bucket files opened
with `tf.io.gfile`, so without TensorFlow a split of more than 1 GiB fails with `ModuleNotFoundError: No
module named 'tensorflow'` (the REACT train split of 750-frame clips passes 1 GiB at about 1,000 items).
`local_spill_files()` swaps in bucket files written with plain `open` while a builder prepares its data, and
can lower the in-memory limit, so peak memory stays bounded by `buffer_bytes` plus one bucket at a time
however large the split. Examples and their order are unchanged (same hashing, same bucket layout).
With TensorFlow installed (where data_dir may be a remote `gs://` path) TFDS's own buckets are kept.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import struct

# In-memory limit of the builders here: 256 MiB of serialized examples, then spill files.
DEFAULT_BUFFER_BYTES = 256 << 20


def tensorflow_available() -> bool:
  return importlib.util.find_spec("tensorflow") is not None


def _local_bucket_class():
  from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top

  class LocalBucket(shuffle._Bucket):  # pylint: disable=protected-access
    """A TFDS shuffle bucket in a local file: records `hkey (16 B) | size (8 B) | data`, appended per add."""

    def add(self, key, data: bytes):
      path = os.fspath(self._path)
      if not self._length:
        os.makedirs(os.path.dirname(path), exist_ok=True)
      with open(path, "ab" if self._length else "wb") as f:  # open per record: no limit on open files
        f.write(shuffle._hkey_to_bytes(key))  # pylint: disable=protected-access
        f.write(struct.pack("=Q", len(data)))
        f.write(data)
      self._length += 1
      self._size += len(data)

    def flush(self):
      pass

    def read_values(self):
      path = os.fspath(self._path)
      if not os.path.exists(path):
        return
      with open(path, "rb") as f:
        while True:
          buff = f.read(shuffle.HKEY_SIZE_BYTES)
          if not buff:
            break
          hkey = shuffle._read_hkey(buff)  # pylint: disable=protected-access
          (size,) = struct.unpack("=Q", f.read(8))
          yield hkey, f.read(size)

    def del_file(self):
      path = os.fspath(self._path)
      if os.path.exists(path):
        os.remove(path)

  return LocalBucket


@contextlib.contextmanager
def local_spill_files(buffer_bytes: int | None = None, *, force: bool = False):
  """Within the block, TFDS spills to local files (no TensorFlow) past `buffer_bytes` of examples in memory.

  Args:
    buffer_bytes: in-memory limit per split being written (None: `DEFAULT_BUFFER_BYTES` at call time).
    force: patch even when TensorFlow is installed (tests).
  """
  if tensorflow_available() and not force:
    yield
    return
  from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top

  saved = shuffle._Bucket, shuffle.MAX_MEM_BUFFER_SIZE  # pylint: disable=protected-access
  shuffle._Bucket = _local_bucket_class()  # pylint: disable=protected-access
  shuffle.MAX_MEM_BUFFER_SIZE = int(DEFAULT_BUFFER_BYTES if buffer_bytes is None else buffer_bytes)
  try:
    yield
  finally:
    shuffle._Bucket, shuffle.MAX_MEM_BUFFER_SIZE = saved  # pylint: disable=protected-access
