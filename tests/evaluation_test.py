"""listen_jax.evaluation: sampling helpers shared by the REACT and ViCo drivers."""
import types

import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax import evaluation


FEATURES = {"react": ("speaker_audio", "speaker_3dmm", "listener_3dmm"), "vico": ("audio_mel", "speaker", "listener")}


class _FakeSource(types.SimpleNamespace):
  def __getitem__(self, pos):
    return self.items[pos]


def _fake_source(kind, group, dim=3):
  stats = {f"{group}/mean": np.full(dim, 10.0, np.float32), f"{group}/std": np.full(dim, 2.0, np.float32)}
  items = [{"listener": np.full((4, dim), 100.0 * (i + 1), np.float32)} for i in range(2)]
  return _FakeSource(kind=kind, stats=stats, lengths=[4, 4], features=FEATURES[kind], name=kind, items=items)


@pytest.mark.parametrize("kind,group", [("react", "3dmm"), ("vico", "motion_delta")])
def test_sample_reactions_denormalises_with_the_source_kinds_group(monkeypatch, kind, group):
  # ViCo data has no '3dmm' statistics: its listener is relative to the reference frame ('motion_delta'), and the
  # listener's reference frame is added back (100 and 200 here); REACT's listener is absolute.
  source = _fake_source(kind, group)

  def fake_clips(src, **kwargs):
    assert src is source and kwargs["data_format"] == "reaction"
    yield {"lengths": np.array([4, 4])}, [0, 1]

  monkeypatch.setattr(evaluation.pipeline, "iterate_clips", fake_clips)
  task = types.SimpleNamespace(predict=lambda params, batch, key: {"motion": jnp.ones((2, 4, 3))})
  out = evaluation.sample_reactions(task, None, source, num_samples=2, seed=0)
  assert out["motion"].shape == (2, 2, 4, 3)
  reference = np.array([100.0, 200.0]) if kind == "vico" else np.zeros(2)
  np.testing.assert_allclose(out["motion"], np.broadcast_to(12.0 + reference[:, None, None, None], (2, 2, 4, 3)))
  np.testing.assert_array_equal(out["positions"], [0, 1])


class _ViCoSplit:
  """A tiny in-memory ViCo split: listener/speaker [T, 73], attitude, the features the FD driver reads."""

  kind = "vico"
  features = {"attitude": None}

  def __init__(self, seed, n=3, t=6):
    r = np.random.default_rng(seed)
    self.items = [{"listener": r.normal(size=(t, 73)) + 5.0 * r.normal(size=73), "speaker": r.normal(size=(t, 73)),
                   "attitude": i % 3, "index": i} for i in range(n)]
    self.order = list(range(n))
    self.lengths = [t] * n
    self.stats = {"motion/mean": np.zeros(73), "motion/std": np.ones(73)}

  def __getitem__(self, pos):
    return self.items[pos]


def test_react_fd_anchors_each_sample_at_the_reference_frame(monkeypatch, tmp_path):
  splits = {"train": _ViCoSplit(0), "test": _ViCoSplit(1)}
  test = splits["test"]
  # Samples = the true listener with its level removed plus a constant offset per sample: anchored at the
  # reference frame they are the truth exactly (FD 0); scored as generated they are far off.
  offsets = np.array([3.0, -2.0])
  motion = np.stack([np.stack([it["listener"] - it["listener"][0] + o for o in offsets]) for it in test.items])
  settings = {"eval": {"num_samples": 2}}
  config = types.SimpleNamespace(data_dir="D", dataset="vico", get=lambda k, d=None: settings.get(k, d))
  monkeypatch.setattr(evaluation, "load_run", lambda w, **kw: (config, None, None, 7))
  monkeypatch.setattr(evaluation.pipeline, "open_split", lambda d, ds, split: splits[split])
  monkeypatch.setattr(evaluation, "sample_reactions", lambda *a, **k: {
      "motion": motion, "positions": np.arange(3), "lengths": np.full(3, 6)})
  written = {}
  monkeypatch.setattr(evaluation, "_write_eval", lambda w, name, res, md: written.update(res=res, md=md))
  anchored = evaluation.evaluate_react_fd(str(tmp_path), splits=("test",))
  assert "anchor: reference" in written["md"] and written["res"] is anchored
  for coeff, value in anchored["test"]["model"]["average"].items():
    assert value == pytest.approx(0.0, abs=1e-9), coeff
  raw = evaluation.evaluate_react_fd(str(tmp_path), splits=("test",), anchor="none")
  assert raw["test"]["model"]["average"]["exp"] > 3 * raw["test"]["random"]["average"]["exp"] > 0
  # The baselines do not depend on the anchor.
  assert raw["test"]["random"] == anchored["test"]["random"]
  with pytest.raises(ValueError, match="anchor"):
    evaluation.evaluate_react_fd(str(tmp_path), anchor="mean")


def test_calibrated_au_thresholds_match_the_training_listeners_rates(monkeypatch):
  """Each AU's threshold is the generated-probability quantile that makes it as frequent as in the training labels;
  frames past a clip's length are ignored, and outputs that are not probabilities raise."""
  r = np.random.default_rng(0)
  n, s, t = 4, 2, 50
  lengths = np.array([50, 50, 40, 30])
  probs = r.uniform(0.0, 0.45, size=(n, s, t, 25)).astype(np.float32)  # a fixed 0.5 would emit no AU at all
  probs[2, :, 40:, :15] = 2.0  # padding: must not count (and would fail the probability check)
  probs[3, :, 30:, :15] = 2.0
  rates = np.linspace(0.02, 0.4, 15)
  items = [{"listener_emotion": np.concatenate([(r.uniform(size=(60, 15)) < rates).astype(np.float32),
                                                np.zeros((60, 10), np.float32)], axis=1)} for _ in range(3)]
  train = _FakeSource(items=items, order=[0, 1, 2])
  monkeypatch.setattr(evaluation, "sample_reactions", lambda *a, **k: {"emotion": probs, "lengths": lengths})
  fit = evaluation.calibrate_au_thresholds(None, None, train)
  thr = np.asarray(fit["thresholds"])
  valid = np.concatenate([probs[i, :, :l, :15].reshape(-1, 15) for i, l in enumerate(lengths)])
  np.testing.assert_allclose((valid > thr).mean(0), fit["listener_rate"], atol=0.01)
  assert np.all(thr < 0.45) and fit["rate_at_0.5"] == [0.0] * 15
  # rate_scale: each AU fires at that fraction of the listeners' rate, at a higher threshold.
  half = evaluation.calibrate_au_thresholds(None, None, train, rate_scale=0.5)
  np.testing.assert_allclose((valid > np.asarray(half["thresholds"])).mean(0), 0.5 * np.asarray(fit["listener_rate"]),
                             atol=0.01)
  assert np.all(np.asarray(half["thresholds"]) >= thr) and half["rate_scale"] == 0.5
  with pytest.raises(ValueError, match="rate_scale"):
    evaluation.calibrate_au_thresholds(None, None, train, rate_scale=-1.0)
  probs[0, 0, 0, 3] = 1.5
  with pytest.raises(ValueError, match="not probabilities"):
    evaluation.calibrate_au_thresholds(None, None, train)


def test_calibration_on_a_held_out_split_reads_its_outputs_and_the_training_labels(monkeypatch):
  """probe_source: the probabilities come from the model on the probe split's speakers, the rates from the
  training listeners; the probe split's own listeners are never read."""
  r = np.random.default_rng(1)
  rates = np.linspace(0.05, 0.3, 15)
  train = _FakeSource(items=[{"listener_emotion": np.concatenate(
      [(r.uniform(size=(80, 15)) < rates).astype(np.float32), np.zeros((80, 10), np.float32)], axis=1)}],
      order=[0])

  class _NoLabels:
    order = [0]

    def __getitem__(self, i):
      raise AssertionError("the probe split's listeners must not be read")

  probe = _NoLabels()
  outputs = {id(train): r.uniform(0.3, 0.9, (1, 2, 80, 25)), id(probe): r.uniform(0.0, 0.2, (1, 2, 80, 25))}
  seen = []

  def fake_sample(task, params, source, **kw):
    seen.append(source)
    return {"emotion": outputs[id(source)].astype(np.float32), "lengths": np.array([80])}

  monkeypatch.setattr(evaluation, "sample_reactions", fake_sample)
  fit = evaluation.calibrate_au_thresholds(None, None, train, probe_source=probe)
  assert seen == [probe]
  thr = np.asarray(fit["thresholds"])
  assert np.all(thr < 0.2)  # quantiles of the probe's low probabilities, not of the train outputs (>= 0.3)
  held = outputs[id(probe)][0, :, :, :15].reshape(-1, 15)
  np.testing.assert_allclose((held > thr).mean(0), fit["listener_rate"], atol=0.01)
  # The level offset: the training listeners' valence/arousal mean (0: the fake labels hold zeros there) minus
  # the mean generated on the probe split.
  np.testing.assert_allclose(fit["va_offset"], -outputs[id(probe)][0, :, :, 15:17].reshape(-1, 2).mean(0),
                             rtol=1e-5)


def test_calibrated_task_pools_the_valence_level_from_the_cached_fit(tmp_path):
  """eval.va_shrink: the calibrated model pools its valence/arousal level toward the training listeners' mean
  recorded with the fit (read from W/eval/au_thresholds.json at the same step and split: no resampling)."""
  import json  # pylint: disable=g-import-not-at-top
  from configs import reactface as reactface_config  # pylint: disable=g-import-not-at-top
  from listen_jax import tasks  # pylint: disable=g-import-not-at-top
  config = reactface_config.get_config("smoke")
  (tmp_path / "eval").mkdir()
  fit = {"thresholds": [0.4] * 15, "va_offset": [0.05, -0.02], "listener_va": [0.13, 0.28], "step": 7,
         "split": config.eval.au_calibration_split}
  (tmp_path / "eval" / "au_thresholds.json").write_text(json.dumps(fit))
  with config.unlocked():
    config.eval.va_shrink = 0.5
  task = evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7)
  assert task.model.va_shrink == 0.5 and task.model.va_population == (0.13, 0.28)
  assert task.model.va_offset == (0.05, -0.02) and task.model.au_threshold == (0.4,) * 15
  with config.unlocked():
    config.eval.va_shrink = 0.0
  assert evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7).model.va_shrink == 0.0
  with config.unlocked():
    config.eval.va_shrink = 2.0
  with pytest.raises(ValueError, match="va_shrink"):
    evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7)


def test_calibrated_task_refits_when_the_au_rate_scale_changes(tmp_path, monkeypatch):
  """The cached fit holds for its own eval.au_rate_scale only: another scale refits (with that scale), the same
  scale reads the cache; a scale outside [0, 1] raises naming the field."""
  import json  # pylint: disable=g-import-not-at-top
  from configs import reactface as reactface_config  # pylint: disable=g-import-not-at-top
  from listen_jax import tasks  # pylint: disable=g-import-not-at-top
  config = reactface_config.get_config("smoke")
  (tmp_path / "eval").mkdir()
  cached = {"thresholds": [0.4] * 15, "va_offset": [0.0, 0.0], "listener_va": [0.1, 0.2], "step": 7,
            "split": config.eval.au_calibration_split, "rate_scale": 1.0}
  (tmp_path / "eval" / "au_thresholds.json").write_text(json.dumps(cached))
  calls = []

  def fake_fit(task, params, train, **kw):
    calls.append(kw["rate_scale"])
    return dict(cached, thresholds=[0.7] * 15, rate_scale=kw["rate_scale"])

  monkeypatch.setattr(evaluation, "calibrate_au_thresholds", fake_fit)
  monkeypatch.setattr(evaluation.pipeline, "open_split", lambda *a, **k: _FakeSource(
      items=[{"listener_emotion": np.zeros((4, 25), np.float32)}], order=[0], features={"listener_emotion": None}))
  assert evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7).model.au_threshold == (
      0.4,) * 15 and not calls
  with config.unlocked():
    config.eval.au_rate_scale = 0.8
  task = evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7)
  assert calls == [0.8] and task.model.au_threshold == (0.7,) * 15
  assert json.loads((tmp_path / "eval" / "au_thresholds.json").read_text())["rate_scale"] == 0.8
  with config.unlocked():
    config.eval.au_rate_scale = 1.5
  with pytest.raises(ValueError, match="au_rate_scale"):
    evaluation.calibrated_task(str(tmp_path), config, tasks.get_task(config), None, 7)
