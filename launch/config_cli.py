"""Flag parsing for the entry points that take `--config=FILE[:variant]` plus `--config.<field>=value` overrides.

ml_collections reports an override of a field the config does not have (`--config.nonexistent=1`, a typo such as
`--config.loss.weight=2`) as a bare `AttributeError: "'nonexistent'"` traceback from inside flag parsing. Passed
as `app.run(main, flags_parser=config_cli.parse_flags)`, `parse_flags` turns it into absl's usual flag error:

  FATAL Flags parsing error: --config.nonexistent=1: the config has no field 'nonexistent' ...

and exit status 1, like every other bad flag.
"""
from __future__ import annotations

import re
import sys

from absl import app


def parse_flags(argv: list[str]) -> list[str]:
  """absl's `parse_flags_with_usage`, reporting unknown `--config.<field>` overrides as flag errors."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError) as e:
    detail = e
    while isinstance(detail, BaseException) and detail.args:  # AttributeError(KeyError(message))
      detail = detail.args[0]
    detail = str(detail)
    match = re.match(r"""^["']*([^"'\s]+)["']*(.*)$""", detail, re.S)
    field, hint = (match.group(1), match.group(2).strip()) if match else (detail, "")
    overrides = [a for a in argv[1:] if a.startswith("--config.")]
    culprits = [a for a in overrides if field in a.split("=", 1)[0][len("--config."):].split(".")]
    where = (culprits or overrides or ["--config"])[0]
    hint = f" {hint}" if hint else ""
    sys.stderr.write(f"FATAL Flags parsing error: {where}: the config has no field {field!r} (overrides cannot add "
                     f"fields; check the spelling against the config file){hint}\n"
                     "Pass --helpshort or --helpfull to see help on flags.\n")
    sys.exit(1)
