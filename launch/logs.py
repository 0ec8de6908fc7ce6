"""Console logging for the command-line entry points."""
import logging

from absl import logging as absl_logging

_NOISY = ("/orbax/", "/etils/", "/tensorflow_datasets/", "/grain/")


class _QuietLibraries(logging.Filter):
  """Drops INFO records of orbax/etils/tfds/grain so progress bars and our own messages stay readable."""

  def filter(self, record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not any(lib in record.pathname for lib in _NOISY)


def quiet_library_info() -> None:
  """Installs the filter on absl's handler (warnings and errors of every library still show)."""
  absl_logging.get_absl_handler().addFilter(_QuietLibraries())
