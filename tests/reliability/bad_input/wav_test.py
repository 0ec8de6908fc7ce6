"""Broken audio files (truncated, other rates, stereo, silence, wrong length) through the ViCo builder."""
from __future__ import annotations

import os

import numpy as np
import soundfile

from datasets.vico import vico_dataset_builder
from listen_jax import audio
from listen_jax.data import pipeline, raw, stats

from bad_input_cases import (_FPS, _FRAMES, Case, _clip, _first_train_uuid, _open, _wav, build_vico, parametrize,
                             run_case)


def truncate_wav(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  with open(path, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[:len(data) // 2])  # header still declares the full data chunk
  return {"uuid": uuid, "file": path}


def resample_wav_to_8k(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, samples[::2], sr // 2, subtype="PCM_16")  # same duration, half the rate
  return {"uuid": uuid, "file": path}


def make_stereo(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, np.stack([samples, 0.25 * samples], axis=1), sr, subtype="PCM_16")
  return {"uuid": uuid, "file": path}


def silence_every_wav(root):
  for name in os.listdir(os.path.join(root, "audios")):
    path = os.path.join(root, "audios", name)
    samples, sr = soundfile.read(path, dtype="float32")
    soundfile.write(path, np.zeros_like(samples), sr, subtype="PCM_16")
  return {}


def halve_wav(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, samples[:len(samples) // 2], sr, subtype="PCM_16")
  return {"uuid": uuid, "file": path}


def build_vico_expecting_16k(root, out, facts):
  cfg = vico_dataset_builder.VicoConfig(name="raw16k", source="raw", expected_sr=16000)
  return build_vico(root, out, facts, cfg)


def check_features_at_file_rate(out, facts):
  ex = _clip(_open(out), facts["uuid"])
  samples, sr = soundfile.read(facts["file"], dtype="float32")
  assert sr == 8000
  np.testing.assert_allclose(ex["audio"], audio.vico_features(samples, sr, _FPS, _FRAMES), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ex["audio_mel"], audio.log_mel(samples, sr, _FPS, _FRAMES), rtol=1e-5, atol=1e-5)


def check_stereo_averaged(root, out, facts, logs):
  ex = _clip(_open(out), facts["uuid"])
  samples, sr = soundfile.read(facts["file"], dtype="float32", always_2d=True)
  assert samples.shape[1] == 2
  expected = audio.vico_features(samples.mean(axis=1), sr, _FPS, _FRAMES)
  first_channel = audio.vico_features(samples[:, 0], sr, _FPS, _FRAMES)
  np.testing.assert_allclose(ex["audio"], expected, rtol=1e-5, atol=1e-5)
  assert not np.allclose(ex["audio"], first_channel, atol=1e-3)
  assert any("averaging 2 channels to mono" in m and facts["uuid"] in m for m in logs)


def check_silence_finite(root, out, facts, logs):
  source = _open(out)
  for p in range(len(source)):
    assert np.all(np.isfinite(source[p]["audio"])) and np.all(np.isfinite(source[p]["audio_mel"]))
  floored = stats.load_stats(source.name.split("[")[0])["audio/std"]
  assert np.any(floored == 1.0)  # constant dimensions: std floored to 1, so z-scoring is a plain centring
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=30, stride=5, global_batch_size=4,
                                            seed=0))
  for key, value in batch.items():
    assert np.all(np.isfinite(value)), key


_CASES = [
    Case("truncated_wav", "vico", truncate_wav, build_vico, raw.DataError,
         r"clip {uuid}: {file}: unreadable wav: .*truncated wav: the header declares \d+ data bytes"),
    Case("wrong_sample_rate", "vico", resample_wav_to_8k, build_vico_expecting_16k, raw.DataError,
         r"clip {uuid}: {file}: .*sample rate 8000 Hz, expected 16000 Hz"),
    Case("other_sample_rate_without_expected_sr", "vico", resample_wav_to_8k, build_vico,
         check=lambda root, out, facts, logs: check_features_at_file_rate(out, facts)),
    Case("stereo_is_averaged", "vico", make_stereo, build_vico, check=check_stereo_averaged),
    Case("silence_gives_finite_features", "vico", silence_every_wav, build_vico, check=check_silence_finite),
    Case("audio_frame_mismatch", "vico", halve_wav, build_vico, raw.DataError,
         r"clip {uuid}: {file}: wav lasts 0.750 s = 22.50 frames .* but the clip has 45 frames"),
]


@parametrize(_CASES)
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  run_case(case, vico_raw, react_raw, tmp_path, caplog)
