"""Tests of the synthetic ViCo layout (listen_jax/synthetic/vico.py and the behaviour it plants)."""
import csv
import os
import re

import numpy as np
import pytest
import scipy.io
import soundfile

from listen_jax import layouts
from listen_jax import synthetic


@pytest.fixture(scope="module")
def vico_dir(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("vico"))
  rows = synthetic.make_vico(out, 20, seed=7, min_seconds=3.5, max_seconds=5.0, short_fraction=0.1)
  return out, rows


def test_vico_csvs_have_exact_columns_and_valid_values(vico_dir):
  out, rows = vico_dir
  all_uuids = []
  for split in synthetic.VICO_SPLITS:
    with open(os.path.join(out, f"{split}.csv"), newline="") as f:
      header = f.readline().strip()
      records = list(csv.DictReader(f, fieldnames=header.split(",")))
    assert header == "video_id,uuid,speaker_id,listener_id,attitude,split"
    assert len(records) == len(rows[split]) > 0
    for rec in records:
      assert re.fullmatch(r"[a-z0-9]{12}", rec["uuid"])
      assert rec["attitude"] in synthetic.attitude_names
      assert rec["split"] == split
      int(rec["speaker_id"]), int(rec["listener_id"])  # integer person ids
      assert rec["video_id"]
      all_uuids.append(rec["uuid"])
  assert len(all_uuids) == 20 == len(set(all_uuids))
  assert [len(rows[s]) for s in synthetic.VICO_SPLITS] == [14, 3, 3]  # ~70/15/15


def test_vico_files_have_exact_shapes_and_dtypes(vico_dir):
  out, rows = vico_dir
  for split in synthetic.VICO_SPLITS:
    for row in rows[split]:
      t = row["num_frames"]
      for role in ("speaker", "listener"):
        mat = scipy.io.loadmat(os.path.join(out, "recons", f"{row['uuid']}.{role}.mat"))
        assert mat["coeff"].dtype == np.float32 and mat["coeff"].shape == (t, 257)
        assert mat["transform_params"].dtype == np.float32 and mat["transform_params"].shape == (t, 5)
        np.testing.assert_array_equal(mat["transform_params"][:, :2], 256.0)
        dynamic, static = layouts.bfm_to_vico(mat["coeff"], mat["transform_params"])
        assert np.all(np.isfinite(dynamic))
        # Realistic scales: angles ~0.1 rad, crop s in [1, 2], tx/ty ~100-130 pixels.
        assert np.abs(dynamic[:, layouts.VICO_DYNAMIC["angle"]]).max() < 0.6
        s, tx, ty = dynamic[:, 70], dynamic[:, 71], dynamic[:, 72]
        assert 1.0 < s.min() and s.max() < 2.0
        assert 80.0 < min(tx.min(), ty.min()) and max(tx.max(), ty.max()) < 150.0
        assert np.abs(dynamic[:, layouts.VICO_DYNAMIC["exp"]]).max() < 5.0
        np.testing.assert_allclose(static.std(axis=0), 0.01, atol=0.01)  # constant identity + tiny jitter
      info = soundfile.info(os.path.join(out, "audios", f"{row['uuid']}.wav"))
      assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
      assert info.frames == round(t * 16000 / 30)


def test_vico_clip_lengths(tmp_path):
  rows = synthetic.make_vico(str(tmp_path), 10, seed=0)  # defaults: 4-10 s, 10% short clips
  frames = np.array([r["num_frames"] for split in rows.values() for r in split])
  assert np.sum(frames <= 90) >= 1
  assert frames.max() <= 300 and np.sum((frames >= 120) & (frames <= 300)) >= 8
  assert len(set(frames.tolist())) > 5


def test_vico_identities_ood_disjoint_and_test_shared(vico_dir):
  _, rows = vico_dir
  ids = {split: {(r["speaker_id"], r["listener_id"]) for r in rows[split]} for split in rows}
  train_spk = {s for s, _ in ids["train"]}
  train_lst = {l for _, l in ids["train"]}
  ood_people = {p for pair in ids["ood"] for p in pair}
  assert not ood_people & (train_spk | train_lst)
  assert {s for s, _ in ids["test"]} <= train_spk
  assert {l for _, l in ids["test"]} <= train_lst
  # The same person has the same identity in every clip (constant static vector).
  rows_by_listener = {}
  for r in rows["train"]:
    rows_by_listener.setdefault(r["listener_id"], []).append(r["uuid"])
  uuids = next(v for v in rows_by_listener.values() if len(v) > 1)
  out = vico_dir[0]
  statics = [layouts.bfm_to_vico(*(lambda m: (m["coeff"], m["transform_params"]))(
      scipy.io.loadmat(os.path.join(out, "recons", f"{u}.listener.mat"))))[1].mean(0) for u in uuids[:2]]
  np.testing.assert_allclose(statics[0], statics[1], atol=0.02)


def test_vico_is_deterministic_per_seed(tmp_path):
  def load(out, rows):
    uuids = [r["uuid"] for split in synthetic.VICO_SPLITS for r in rows[split]]
    clips = [synthetic.read_vico_clip(out, u) for u in uuids]
    return uuids, clips

  kw = dict(min_seconds=1.0, max_seconds=1.5, short_fraction=0.0)
  a = load(str(tmp_path / "a"), synthetic.make_vico(str(tmp_path / "a"), 3, seed=5, **kw))
  b = load(str(tmp_path / "b"), synthetic.make_vico(str(tmp_path / "b"), 3, seed=5, **kw))
  c = load(str(tmp_path / "c"), synthetic.make_vico(str(tmp_path / "c"), 3, seed=6, **kw))
  assert a[0] == b[0] and a[0] != c[0]
  for ca, cb in zip(a[1], b[1]):
    for key in ("speaker", "listener", "audio"):
      np.testing.assert_array_equal(ca[key], cb[key])
  # Byte-identical files too (the .mat header carries no timestamp).
  name = f"{a[0][0]}.listener.mat"
  with open(tmp_path / "a" / "recons" / name, "rb") as fa, open(tmp_path / "b" / "recons" / name, "rb") as fb:
    assert fa.read() == fb.read()
  assert not np.allclose(a[1][0]["listener"][:10], c[1][0]["listener"][:10])


def test_vico_listener_depends_on_lagged_speaker(vico_dir):
  out, rows = vico_dir
  clips = [synthetic.read_vico_clip(out, r["uuid"]) for r in rows["train"]]
  pitch = synthetic.vico_channel_index("pitch")
  brow = synthetic.vico_channel_index("brow")  # the speaker raises the brows on stressed syllables
  smile = synthetic.vico_channel_index("smile")
  lag = 9  # ~0.3 s at 30 fps
  matched_nod, unrelated_nod, matched_smile, unrelated_smile = [], [], [], []
  for i, c in enumerate(clips):
    other = clips[(i + 1) % len(clips)]
    matched_nod.append(synthetic.lagged_correlation(c["speaker"][:, brow], c["listener"][:, pitch], lag))
    unrelated_nod.append(synthetic.lagged_correlation(other["speaker"][:, brow], c["listener"][:, pitch], lag))
    if np.std(c["speaker"][:, smile]) > 0.2:  # the speaker smiled in this clip
      matched_smile.append(synthetic.lagged_correlation(c["speaker"][:, smile], c["listener"][:, smile], 10))
      unrelated_smile.append(synthetic.lagged_correlation(other["speaker"][:, smile], c["listener"][:, smile], 10))
  assert np.mean(matched_nod) > 0.25 and np.mean(matched_nod) > np.mean(unrelated_nod) + 0.2
  assert len(matched_smile) >= 3
  assert np.mean(matched_smile) > 0.3 and np.mean(matched_smile) > np.mean(unrelated_smile) + 0.2


def test_vico_attitude_shapes_listener_expression(vico_dir):
  out, rows = vico_dir
  smile, frown = synthetic.vico_channel_index("smile"), synthetic.vico_channel_index("frown")
  yaw = synthetic.vico_channel_index("yaw")
  by_att = {a: [] for a in synthetic.attitude_names}
  for split in rows:
    for r in rows[split]:
      lst = synthetic.read_vico_clip(out, r["uuid"])["listener"]
      by_att[r["attitude"]].append((lst[:, smile].mean(), lst[:, frown].mean(), np.diff(lst[:, yaw]).std()))
  m = {a: np.mean(v, axis=0) for a, v in by_att.items()}
  assert m["positive"][0] > m["neutral"][0] + 0.4 and m["positive"][0] > m["negative"][0] + 0.4
  assert m["negative"][1] > m["neutral"][1] + 0.5 and m["negative"][1] > m["positive"][1] + 0.5
  assert m["negative"][2] > 1.3 * m["neutral"][2]  # head shakes


def test_speech_has_pauses_and_voiced_segments(vico_dir):
  out, rows = vico_dir
  clip = synthetic.read_vico_clip(out, rows["train"][0]["uuid"])
  audio, sr = clip["audio"], clip["sample_rate"]
  assert np.abs(audio).max() <= 1.0
  db = 10.0 * np.log10(synthetic.frame_energy(audio, sr, 30) + 1e-12)
  assert db.shape == (rows["train"][0]["num_frames"],)
  assert np.mean(db < -40.0) > 0.1  # pauses (noise floor only)
  assert np.mean(db > -30.0) > 0.3  # speech
  # The loudest 40 ms is periodic with an f0 in the voice range.
  hop = int(0.04 * sr)
  start = int(np.argmax(db)) * sr // 30
  x = audio[start:start + hop].astype(np.float64)
  x -= x.mean()
  ac = np.correlate(x, x, "full")[hop - 1:]
  ac /= ac[0]
  lo, hi = sr // 300, sr // 90
  assert ac[lo:hi].max() > 0.5
  f0 = sr / (lo + np.argmax(ac[lo:hi]))
  assert 90.0 < f0 < 300.0
