"""W/versions.json records the run's software; evaluation warns on a mismatch and stays quiet otherwise."""
import json
import logging

import jax
import pytest
from absl import flags
from absl.testing import flagsaver

from listen_jax import versions


def _warnings(caplog):
  return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_current_records_the_packages_python_and_backend():
  now = versions.current()
  assert set(now["packages"]) == set(versions.PACKAGES)
  assert now["packages"]["jax"] == jax.__version__
  assert now["backend"] == "cpu" and now["python"].count(".") == 2


def test_no_warning_when_versions_match(tmp_path, caplog):
  versions.save(str(tmp_path))
  with caplog.at_level(logging.WARNING):
    assert versions.warn_if_changed(str(tmp_path)) == []
  assert _warnings(caplog) == []


def test_warning_names_package_run_version_and_current_version(tmp_path, caplog):
  run = versions.current()
  run["packages"]["jax"] = "0.4.1"
  run["packages"]["grain"] = None
  run["backend"] = "tpu"
  versions.save(str(tmp_path), run)
  with caplog.at_level(logging.WARNING):
    diff = versions.warn_if_changed(str(tmp_path))
  now = versions.current()
  assert diff == [("grain", None, now["packages"]["grain"]), ("jax", "0.4.1", jax.__version__),
                  ("backend", "tpu", "cpu")]
  messages = _warnings(caplog)
  assert len(messages) == 3
  assert any(m.startswith("jax:") and "used 0.4.1" in m and f"has {jax.__version__}" in m for m in messages)


def test_missing_record_warns_once_and_reports_nothing(tmp_path, caplog):
  with caplog.at_level(logging.WARNING):
    assert versions.warn_if_changed(str(tmp_path)) == []
  assert len(_warnings(caplog)) == 1 and "versions.json" in _warnings(caplog)[0]


def test_corrupt_record_names_the_file(tmp_path):
  (tmp_path / "versions.json").write_text("{")
  with pytest.raises(ValueError, match="versions.json"):
    versions.load(str(tmp_path))


def test_launch_evaluate_warns_on_a_mismatch(tmp_path, caplog, monkeypatch):
  from launch import evaluate  # pylint: disable=g-import-not-at-top
  from listen_jax import evaluation  # pylint: disable=g-import-not-at-top

  (tmp_path / "config.json").write_text(json.dumps({"model_name": "reactface", "dataset": "react"}))
  run = versions.current()
  run["packages"]["flax"] = "0.0.1"
  versions.save(str(tmp_path), run)
  monkeypatch.setattr(evaluation, "evaluate_react", lambda workdir, **kw: {})
  absl_level = logging.getLogger("absl").level
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()  # no argv parse: other test modules' required flags stay unchecked
  try:
    with flagsaver.flagsaver(workdir=str(tmp_path)), caplog.at_level(logging.WARNING):
      evaluate.main([])
  finally:
    logging.getLogger("absl").setLevel(absl_level)
  assert [m for m in _warnings(caplog) if m.startswith("flax:") and "0.0.1" in m]
