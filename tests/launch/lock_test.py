"""requirements.lock is complete for pyproject.toml, CPU-only, and launch/lock_check.py reads it correctly."""
import importlib.metadata
import os
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from launch import lock_check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCK = os.path.join(ROOT, "requirements.lock")


def _pyproject_requirements():
  with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    project = tomllib.load(f)["project"]
  reqs = list(project["dependencies"])
  for extra in ("test", "bridge"):  # the extras launch/env.sh installs
    reqs += project["optional-dependencies"][extra]
  return [Requirement(r) for r in reqs]


def test_lock_pins_every_pyproject_requirement_within_its_range():
  pins = lock_check.read_pins(LOCK)
  for req in _pyproject_requirements():
    name = lock_check.canonical(req.name)
    assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run bash launch/lock.sh"
    assert req.specifier.contains(Version(pins[name]), prereleases=True), (
        f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req}: run bash launch/lock.sh")


def test_lock_holds_no_cuda_packages_and_public_versions_only():
  pins = lock_check.read_pins(LOCK)
  assert pins["torch"] == "2.13.0"
  assert not [n for n in pins if n.startswith("nvidia-") or n == "triton"]
  assert not [v for v in pins.values() if "+" in v]  # local labels (2.13.0+cpu) are not on PyPI


def test_read_pins_parses_and_rejects(tmp_path):
  lock = tmp_path / "r.lock"
  lock.write_text("# header\nJax_Lib==0.1\n    # via x\nfoo[bar]==2.0 ; python_version >= '3'\n\n")
  assert lock_check.read_pins(str(lock)) == {"jax-lib": "0.1", "foo": "2.0"}
  lock.write_text("jax>=0.1\n")
  try:
    lock_check.read_pins(str(lock))
  except ValueError as e:
    assert "r.lock:1" in str(e)
  else:
    raise AssertionError("a range in a lock file must be rejected")


def test_version_matches_local_builds_only_for_public_pins():
  assert lock_check.version_matches("2.13.0+cpu", "2.13.0")
  assert lock_check.version_matches("2.13.0", "2.13.0")
  assert not lock_check.version_matches("2.13.1", "2.13.0")
  assert not lock_check.version_matches("2.13.0", "2.13.0+cpu")


def test_differences_reports_wrong_and_missing_versions():
  numpy = importlib.metadata.version("numpy")
  assert lock_check.differences({"numpy": numpy}) == []
  diff = lock_check.differences({"numpy": "0.0.1", "surely-not-installed-pkg": "1.0"})
  assert diff == [f"numpy: installed {numpy}, lock 0.0.1", "surely-not-installed-pkg: not installed (lock 1.0)"]
