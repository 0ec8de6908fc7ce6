"""Flags for the entry points that take `--config=FILE[:variant]` plus `--config.<field>=value` overrides.

ml_collections reports an override of a field the config does not have (`--config.nonexistent=1`, a typo such as
`--config.loss.nmae=paper`) as a bare `AttributeError: "'nonexistent'"` traceback, raised while the flag is
defined (default config file) or parsed (`--config=...` given). With `define_config_file` in place of
`config_flags.DEFINE_config_file` and `app.run(main, flags_parser=config_cli.parse_flags)`, both become absl's
usual flag error and exit status 1:

  FATAL Flags parsing error: --config.nonexistent=1: the config has no field 'nonexistent' ...
"""
from __future__ import annotations

import re
import sys
from typing import NoReturn

from absl import app
from ml_collections import config_flags


def define_config_file(name: str, default: str | None, help_string: str, **kwargs):
  """`config_flags.DEFINE_config_file`, reporting unknown `--{name}.<field>` overrides as flag errors."""
  try:
    return config_flags.DEFINE_config_file(name, default, help_string, **kwargs)
  except (AttributeError, KeyError) as e:
    _unknown_field(e, sys.argv, name)


def parse_flags(argv: list[str]) -> list[str]:
  """absl's `parse_flags_with_usage`, reporting unknown `--config.<field>` overrides as flag errors."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError) as e:
    _unknown_field(e, argv, "config")


def _unknown_field(error: BaseException, argv: list[str], name: str) -> NoReturn:
  detail = error
  while isinstance(detail, BaseException) and detail.args:  # AttributeError(KeyError(message))
    detail = detail.args[0]
  detail = str(detail)
  match = re.match(r"""^["']*([^"'\s]+)["']*(.*)$""", detail, re.S)
  field, hint = (match.group(1), match.group(2).strip()) if match else (detail, "")
  prefix = f"--{name}."
  overrides = [a for a in argv[1:] if a.startswith(prefix)]
  culprits = [a for a in overrides if field in a.split("=", 1)[0][len(prefix):].split(".")]
  where = (culprits or overrides or [f"--{name}"])[0]
  hint = f" {hint}" if hint else ""
  sys.stderr.write(f"FATAL Flags parsing error: {where}: the config has no field {field!r} (overrides cannot add "
                   f"fields; check the spelling against the config file){hint}\n"
                   "Pass --helpshort or --helpfull to see help on flags.\n")
  sys.exit(1)
