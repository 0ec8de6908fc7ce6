"""Tests of the synthetic REACT layout (listen_jax/synthetic/react.py and the behaviour it plants)."""
import os
import re

import numpy as np
import pytest
import soundfile

from listen_jax import synthetic


@pytest.fixture(scope="module")
def react_dir(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("react"))
  summary = synthetic.make_react(out, 20, seed=3, min_seconds=6.0, max_seconds=6.0)
  return out, summary


def _read_react_csv(path):
  with open(path, newline="") as f:
    lines = f.read().splitlines()
  return lines[0], [line.split(",") for line in lines[1:]]


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
