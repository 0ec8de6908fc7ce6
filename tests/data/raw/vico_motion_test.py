"""Tests for listen_jax.data.raw.vico_motion: the ViCo .bin feature pickles, read without torch."""
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from listen_jax.data import raw

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# ---------------------------------------------------------------------------------------------------------
# .bin feature files (torch.save pickles of numpy arrays)


def _bin_payload(num_frames=6, seed=0):
  rng = np.random.default_rng(seed)
  return {"angle.exp.trans": rng.normal(size=(num_frames, 73)).astype(np.float32),
          "id.gamma.tex": rng.normal(size=(num_frames, 187)).astype(np.float32)}


@pytest.mark.parametrize("variant", ["zip_protocol2", "zip_protocol4", "torch_legacy", "plain_pickle",
                                     "numpy1_pickle"])
def test_read_feature_bin_variants(tmp_path, variant):
  torch = pytest.importorskip("torch")
  payload = _bin_payload()
  path = tmp_path / "clip.listener.bin"
  if variant == "numpy1_pickle":  # written by numpy 1.x (the reference's era): numpy.core, not numpy._core
    data = pickle.dumps(payload, protocol=2)
    assert b"cnumpy._core.multiarray\n" in data
    path.write_bytes(data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
  elif variant == "zip_protocol2":
    torch.save(payload, path)
  elif variant == "zip_protocol4":
    torch.save(payload, path, pickle_protocol=4)
  elif variant == "torch_legacy":
    torch.save(payload, path, _use_new_zipfile_serialization=False)
  else:
    with open(path, "wb") as f:
      pickle.dump(payload, f)
  assert zipfile.is_zipfile(path) == variant.startswith("zip")
  motion = raw.read_vico_feature_bin(path, "clip")
  np.testing.assert_array_equal(motion.dynamic, payload["angle.exp.trans"])
  np.testing.assert_array_equal(motion.static, payload["id.gamma.tex"])
  assert motion.dynamic.dtype == np.float32 and motion.image_size is None


def test_read_feature_bin_without_torch(tmp_path):
  torch = pytest.importorskip("torch")
  payload = _bin_payload(num_frames=4, seed=1)
  path = tmp_path / "clip.speaker.bin"
  torch.save(payload, path)
  np.save(tmp_path / "expected.npy", payload["angle.exp.trans"])
  code = (
      "import sys, numpy as np\n"
      "from listen_jax.data import raw\n"
      f"m = raw.read_vico_feature_bin({str(path)!r}, 'clip')\n"
      f"np.testing.assert_array_equal(m.dynamic, np.load({str(tmp_path / 'expected.npy')!r}))\n"
      "assert 'torch' not in sys.modules, 'torch was imported'\n"
      "print('ok', m.dynamic.shape, m.static.shape)\n")
  out = subprocess.run([sys.executable, "-c", code], cwd=_REPO, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  assert "ok (4, 73) (4, 187)" in out.stdout


def test_read_feature_bin_rejects_bad_content(tmp_path):
  torch = pytest.importorskip("torch")
  path = tmp_path / "a.bin"
  torch.save({"angle.exp.trans": torch.zeros(3, 73), "id.gamma.tex": torch.zeros(3, 187)}, path)
  with pytest.raises(raw.DataError, match=r"clip c1: .*a\.bin: unreadable torch pickle .*torch"):
    raw.read_vico_feature_bin(path, "c1")
  payload = _bin_payload()
  payload["angle.exp.trans"] = payload["angle.exp.trans"][:, :72]
  torch.save(payload, path)
  with pytest.raises(raw.DataError, match=r"'angle.exp.trans' has width 72, expected 73"):
    raw.read_vico_feature_bin(path, "c1")
  payload = _bin_payload()
  payload["id.gamma.tex"] = payload["id.gamma.tex"][:-1]
  torch.save(payload, path)
  with pytest.raises(raw.DataError, match=r"'angle.exp.trans' has 6 frames but 'id.gamma.tex' has 5"):
    raw.read_vico_feature_bin(path, "c1")
  with open(path, "wb") as f:
    pickle.dump(shutil.rmtree, f)  # an arbitrary callable must never be unpickled
  with pytest.raises(raw.DataError, match="refusing to unpickle"):
    raw.read_vico_feature_bin(path, "c1")
  with pytest.raises(raw.MissingFileError, match=r"clip c1: missing torch feature file"):
    raw.read_vico_feature_bin(tmp_path / "nope.bin", "c1")
