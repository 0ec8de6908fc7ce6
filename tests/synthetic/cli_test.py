"""Tests of the synthetic generator's argument errors and its CLI (launch/make_synthetic.py)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from listen_jax import synthetic

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bad_arguments_raise_clear_errors(tmp_path):
  with pytest.raises(synthetic.SyntheticError, match="num_clips=2"):
    synthetic.make_vico(str(tmp_path), 2, seed=0)
  with pytest.raises(synthetic.SyntheticError, match="min_seconds"):
    synthetic.make_react(str(tmp_path), 3, seed=0, min_seconds=5.0, max_seconds=2.0)
  with pytest.raises(ValueError, match="faceverse"):
    synthetic.emotion_from_faceverse(np.zeros((4, 57), np.float32))


def test_cli_writes_vico_layout(tmp_path):
  out = tmp_path / "raw"
  env = dict(os.environ, PYTHONPATH=_REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
  proc = subprocess.run(
      [sys.executable, "-m", "launch.make_synthetic", "--format=vico", f"--out={out}", "--num_clips=3",
       "--seed=1", "--min_seconds=1", "--max_seconds=1.5", "--sample_rate=8000"],
      cwd=_REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr
  for split in synthetic.VICO_SPLITS:
    rows = synthetic.read_csv_rows(str(out / f"{split}.csv"))
    assert len(rows) == 1
    info = soundfile.info(str(out / "audios" / f"{rows[0]['uuid']}.wav"))
    assert info.samplerate == 8000
    assert os.path.exists(out / "recons" / f"{rows[0]['uuid']}.listener.mat")
