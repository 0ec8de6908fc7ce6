"""Tests of the synthetic dyadic data generator (listen_jax/synthetic.py) and its CLI."""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import soundfile

from listen_jax import layouts
from listen_jax import synthetic

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def vico_dir(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("vico"))
  rows = synthetic.make_vico(out, 20, seed=7, min_seconds=3.5, max_seconds=5.0, short_fraction=0.1)
  return out, rows


@pytest.fixture(scope="module")
def react_dir(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("react"))
  summary = synthetic.make_react(out, 20, seed=3, min_seconds=6.0, max_seconds=6.0)
  return out, summary


def _read_react_csv(path):
  with open(path, newline="") as f:
    lines = f.read().splitlines()
  return lines[0], [line.split(",") for line in lines[1:]]


# ---------------------------------------------------------------------------------------------------------
# ViCo


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


def test_synthesize_speech_follows_syllables():
  person = synthetic.make_person(0, seed=0, fmt="vico")
  rng = np.random.default_rng(0)
  syl = synthetic.syllable_schedule(rng, [(0.0, 3.0)], person, synthetic.STYLES[0])
  assert syl.size > 5 and syl.stressed.any() and syl.phrase_end.any()
  assert np.all(np.diff(syl.onset) > 0) and np.all(syl.onset[1:] >= syl.onset[:-1] + syl.duration[:-1])
  audio = synthetic.synthesize_speech(rng, syl, 48000, 16000)
  assert audio.dtype == np.float32 and audio.shape == (48000,)
  frames = synthetic.speech_frames(syl, 90, 30.0)
  energy = synthetic.frame_energy(audio, 16000, 30.0)
  assert np.corrcoef(frames.envelope, np.sqrt(energy))[0, 1] > 0.7
  # Stressed syllables are louder.
  assert frames.envelope[frames.stress > 0.5].mean() > 1.2 * frames.envelope[
      (frames.envelope > 0.3) & (frames.stress == 0)].mean()


# ---------------------------------------------------------------------------------------------------------
# REACT


def test_react_layout_shapes_and_paths(react_dir):
  out, summary = react_dir
  t = 150  # 6 s at 25 fps
  assert [len(summary[s]["rows"]) for s in synthetic.REACT_SPLITS] == [12, 4, 4]  # ~60/20/20
  for split in synthetic.REACT_SPLITS:
    header, rows = _read_react_csv(os.path.join(out, f"{split}.csv"))
    assert header == ",speaker_path,listener_path"
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    for _, p1, p2 in rows:
      assert re.fullmatch(r"NoXI/\d{3}_\d{4}-\d\d-\d\d_\w+/Expert_video/\d+|RECOLA/group-\d+/P25/\d+", p1), p1
      expected_p2 = p1.replace("Expert_video", "Novice_video").replace("/P25/", "/P26/")
      assert p2 == expected_p2
      for path in (p1, p2):
        fv = np.load(os.path.join(out, split, "3D_FV_files", path + ".npy"))
        assert fv.dtype == np.float32 and fv.shape == (t, 58)
        info = soundfile.info(os.path.join(out, split, "Audio_files", path + ".wav"))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, round(t * 16000 / 25))
        with open(os.path.join(out, split, "Emotion", path + ".csv")) as f:
          lines = f.read().splitlines()
        assert len(lines) == t + 1 and len(lines[0].split(",")) == 25
        emo = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
        assert emo.shape == (t, 25)
        assert set(np.unique(emo[:, :15])) <= {0.0, 1.0}
        assert np.all(np.abs(emo[:, 15:17]) <= 1.0)
        np.testing.assert_allclose(emo[:, 17:].sum(1), 1.0, atol=1e-4)
        # Emotion is a function of the person's own 3DMM.
        np.testing.assert_allclose(emo, synthetic.emotion_from_faceverse(fv, 25), atol=2e-6)


def test_react_neighbour_matrix(react_dir):
  out, summary = react_dir
  for split in synthetic.REACT_SPLITS:
    m = len(summary[split]["rows"])
    a = np.load(os.path.join(out, f"neighbour_emotion_{split}.npy"))
    assert a.dtype == np.float64 and a.shape == (2 * m, 2 * m)
    assert set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.diag(a), 1.0)
    np.testing.assert_array_equal(a, a.T)
    assert a.sum(1).min() >= 2  # every item has other appropriate reactions
    assert a.sum() < (2 * m) ** 2  # ... but not every item is appropriate for every speaker
  styles = np.array(summary["train"]["styles"])
  np.testing.assert_array_equal(np.load(os.path.join(out, "neighbour_emotion_train.npy")),
                                synthetic.neighbour_matrix(styles))


def test_react_listener_emotion_follows_speaker_style_in_mirrored_order(react_dir):
  """Listener emotions of items marked appropriate for each other are closer than those of other items."""
  out, summary = react_dir
  _, rows = _read_react_csv(os.path.join(out, "train.csv"))
  listeners = [r[2] for r in rows] + [r[1] for r in rows]  # mirrored order: k < M col1 speaks, then swapped
  emo = np.stack([np.loadtxt(os.path.join(out, "train", "Emotion", p + ".csv"), delimiter=",", skiprows=1)
                  for p in listeners])
  a = np.load(os.path.join(out, "neighbour_emotion_train.npy"))
  profile = emo.mean(axis=1)  # [2M, 25]
  dist = np.abs(profile[:, None] - profile[None]).mean(-1)
  neighbours = (a == 1) & ~np.eye(len(a), dtype=bool)
  assert dist[neighbours].mean() < 0.8 * dist[a == 0].mean()
  # With the roles not swapped the structure disappears (the mirrored order matters).
  unswapped = np.concatenate([profile[len(rows):], profile[:len(rows)]])
  dist_u = np.abs(unswapped[:, None] - unswapped[None]).mean(-1)
  assert dist_u[neighbours].mean() > dist[neighbours].mean() + 0.1 * dist[a == 0].mean()


def test_react_listener_nods_follow_partner_speech(react_dir):
  out, summary = react_dir
  _, rows = _read_react_csv(os.path.join(out, "train.csv"))
  pitch, brow = synthetic.faceverse_channel_index("pitch"), synthetic.faceverse_channel_index("brow")
  fvs = [(np.load(os.path.join(out, "train", "3D_FV_files", p1 + ".npy")),
          np.load(os.path.join(out, "train", "3D_FV_files", p2 + ".npy"))) for _, p1, p2 in rows]
  matched, unrelated = [], []
  for i, (f1, f2) in enumerate(fvs):
    other = fvs[(i + 1) % len(fvs)][0]
    matched.append(synthetic.lagged_correlation(f1[:, brow], f2[:, pitch], 8))
    unrelated.append(synthetic.lagged_correlation(other[:, brow], f2[:, pitch], 8))
  assert np.mean(matched) > np.mean(unrelated) + 0.1


def test_react_is_deterministic_per_seed(tmp_path):
  def first_person(out, summary):
    path = summary["train"]["rows"][0][0]
    fv = np.load(os.path.join(out, "train", "3D_FV_files", path + ".npy"))
    wav, _ = soundfile.read(os.path.join(out, "train", "Audio_files", path + ".wav"))
    a = np.load(os.path.join(out, "neighbour_emotion_train.npy"))
    return path, fv, wav, a

  kw = dict(min_seconds=2.0, max_seconds=2.0)
  outs = [str(tmp_path / n) for n in "abc"]
  got = [first_person(o, synthetic.make_react(o, 3, seed=s, **kw)) for o, s in zip(outs, (1, 1, 2))]
  assert got[0][0] == got[1][0]
  for x, y in zip(got[0][1:], got[1][1:]):
    np.testing.assert_array_equal(x, y)
  assert got[0][1].shape == got[2][1].shape and not np.allclose(got[0][1], got[2][1])
  assert not np.allclose(got[0][2], got[2][2])


def test_react_mirrored_twin_is_never_a_neighbour(react_dir):
  """Item k's speaker is item k + M's listener: their styles differ, so Mime cannot copy a neighbour."""
  out, summary = react_dir
  for split in synthetic.REACT_SPLITS:
    m = len(summary[split]["rows"])
    a = np.load(os.path.join(out, f"neighbour_emotion_{split}.npy"))
    twins = np.arange(2 * m), (np.arange(2 * m) + m) % (2 * m)
    np.testing.assert_array_equal(a[twins], 0.0)


def _react_wavs(out):
  _, rows = _read_react_csv(os.path.join(out, "train.csv"))
  return [soundfile.read(os.path.join(out, "train", "Audio_files", p + ".wav"))[0] for r in rows for p in r[1:]]


def test_react_clips_start_mid_conversation(react_dir, tmp_path):
  """With the lead-in, clips open at a random point of the conversation (often mid-speech), not at rest."""

  def speech_at_start(out):
    rms = [np.sqrt(np.mean(w[:1600] ** 2)) for w in _react_wavs(out)]  # first 0.1 s
    return np.mean(np.asarray(rms) > 0.01)

  at_rest = str(tmp_path / "at_rest")
  synthetic.make_react(at_rest, 20, seed=3, min_seconds=6.0, max_seconds=6.0, lead_in_seconds=(0.0, 0.0))
  assert speech_at_start(at_rest) == 0.0  # every simulated conversation opens with a silence
  assert speech_at_start(react_dir[0]) > 0.25
  lengths = {len(w) for w in _react_wavs(react_dir[0])}
  assert lengths == {6 * synthetic.DEFAULT_SAMPLE_RATE}  # the lead-in is cut off exactly


# ---------------------------------------------------------------------------------------------------------
# Errors and CLI


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
