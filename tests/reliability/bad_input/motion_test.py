"""Broken 3DMM files (NaN coefficients, speaker/listener frame mismatch, empty and very short clips)."""
from __future__ import annotations

import numpy as np
import soundfile

from listen_jax.data import pipeline, raw

from bad_input_cases import (_FPS, Case, _edit_mat, _first_train_uuid, _mat, _open, _wav, build_vico, parametrize,
                             run_case)


def nan_coefficient(root):
  uuid = _first_train_uuid(root)
  path = _mat(root, uuid, "speaker")

  def edit(coeff, tp):
    coeff[3, 10] = np.nan
    return coeff, tp

  _edit_mat(path, edit)
  return {"uuid": uuid, "file": path}


def listener_five_frames_short(root):
  uuid = _first_train_uuid(root)
  _edit_mat(_mat(root, uuid, "listener"), lambda coeff, tp: (coeff[:-5], tp[:-5]))
  return {"uuid": uuid}


def empty_clip(root):
  uuid = _first_train_uuid(root)
  for role in ("speaker", "listener"):
    _edit_mat(_mat(root, uuid, role), lambda coeff, tp: (coeff[:0], tp[:0]))
  return {"uuid": uuid, "file": _mat(root, uuid, "speaker")}


_SHORT = 5  # frames: below min_window (10) of the smoke window (30)


def shorten_clip(root):
  uuid = _first_train_uuid(root)
  for role in ("speaker", "listener"):
    _edit_mat(_mat(root, uuid, role), lambda coeff, tp: (coeff[:_SHORT], tp[:_SHORT]))
  samples, sr = soundfile.read(_wav(root, uuid), dtype="float32")
  soundfile.write(_wav(root, uuid), samples[:int(round(_SHORT / _FPS * sr))], sr, subtype="PCM_16")
  return {"uuid": uuid}


def check_short_clip_single_padded_window(root, out, facts, logs):
  source = _open(out)
  position = [p for p in range(len(source)) if source[p]["uuid"] == facts["uuid"]][0]
  index = int(source.indices[position])
  assert int(source.lengths[position]) == _SHORT
  num_windows = pipeline.count_windows(source, window=30, stride=5, min_window=10)
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=30, stride=5,
                                            global_batch_size=num_windows, seed=0, min_window=10))
  rows = np.flatnonzero(batch["clip_index"] == index)
  assert len(rows) == 1  # one window per epoch for a clip shorter than min_window
  row = rows[0]
  assert batch["lengths"][row] == _SHORT
  clip = source[position]
  np.testing.assert_allclose(batch["speaker"][row, :_SHORT], pipeline.normalize(clip["speaker"], source.stats,
                                                                                 "motion"), rtol=1e-6)
  for key in ("audio", "speaker", "listener", "audio_mel"):
    valid = _SHORT * (2 if key == "audio_mel" else 1)
    assert not np.any(batch[key][row, valid:]), f"{key} is not zero-padded"


_CASES = [
    Case("nan_coefficients", "vico", nan_coefficient, build_vico, raw.DataError,
         r"clip {uuid}: {file}: coeff has 1 NaN/inf values \(first at frame 3, dim 10\)"),
    Case("speaker_listener_frame_mismatch", "vico", listener_five_frames_short, build_vico, raw.DataError,
         r"clip {uuid}: frame counts disagree: speaker has 45 frames .*listener has 40 frames"),
    Case("empty_clip", "vico", empty_clip, build_vico, raw.DataError, r"clip {uuid}: {file}: coeff is empty"),
    Case("clip_shorter_than_one_window", "vico", shorten_clip, build_vico,
         check=check_short_clip_single_padded_window),
]


@parametrize(_CASES)
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  run_case(case, vico_raw, react_raw, tmp_path, caplog)
