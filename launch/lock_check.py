"""Does the running environment already hold requirements.lock exactly? (standard library only)

  python launch/lock_check.py requirements.lock [ROOT]

Exit 0 when every `name==version` pin of the lock is installed at that version (an installed local build such
as torch 2.13.0+cpu satisfies a pin of its public version 2.13.0) and, with ROOT, when `listen_jax` is
installed editable from ROOT; exit 1 and print what differs otherwise. `launch/env.sh` runs it before
installing, so an environment that already matches is left untouched (no reinstall of anything).
"""
from __future__ import annotations

import importlib.metadata
import json
import re
import sys


def canonical(name: str) -> str:
  """PEP 503 normalised project name."""
  return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: str) -> dict[str, str]:
  """`{canonical name: version}` of the `name==version` lines of a pip-compile lock file."""
  pins = {}
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      line = line.split("#", 1)[0].strip()
      if not line or line.startswith("-"):
        continue
      m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)(\s*;.*)?", line)
      if not m:
        raise ValueError(f"{path}:{lineno}: expected 'name==version', got {line!r}")
      pins[canonical(m.group(1))] = m.group(3)
  return pins


def version_matches(installed: str, pinned: str) -> bool:
  """`installed == pinned`, or equal public versions when the pin has no local label (PEP 440 `==`)."""
  return installed == pinned or ("+" not in pinned and installed.split("+", 1)[0] == pinned)


def differences(pins: dict[str, str], root: str | None = None) -> list[str]:
  """Human-readable mismatches between `pins` and the installed distributions (empty when they match)."""
  installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
               if d.metadata["Name"]}
  out = []
  for name, version in sorted(pins.items()):
    have = installed.get(name)
    if have is None:
      out.append(f"{name}: not installed (lock {version})")
    elif not version_matches(have, version):
      out.append(f"{name}: installed {have}, lock {version}")
  if root is not None:
    urls = []
    for dist in importlib.metadata.distributions():  # an egg-info in the working directory may also answer
      if canonical(dist.metadata["Name"] or "") == "listen-jax":
        info = json.loads(dist.read_text("direct_url.json") or "{}")
        if info.get("dir_info", {}).get("editable"):
          urls.append(info.get("url", ""))
    if "file://" + root.rstrip("/") not in [u.rstrip("/") for u in urls]:
      out.append(f"listen_jax: not installed editable from {root} (editable installs: {urls or 'none'})")
  return out


def main(argv: list[str]) -> int:
  if len(argv) not in (2, 3):
    print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
    return 2
  diff = differences(read_pins(argv[1]), argv[2] if len(argv) == 3 else None)
  for line in diff:
    print(f"[env] {line}")
  return 1 if diff else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
