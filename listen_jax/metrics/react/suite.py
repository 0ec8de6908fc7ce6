"""All six REACT metrics at once."""
from __future__ import annotations

from listen_jax.metrics.react.corr import fr_corr
from listen_jax.metrics.react.diversity import fr_div
from listen_jax.metrics.react.diversity import fr_dvs
from listen_jax.metrics.react.diversity import fr_var
from listen_jax.metrics.react.dtw import fr_dist
from listen_jax.metrics.react.inputs import Groups
from listen_jax.metrics.react.inputs import _as_array
from listen_jax.metrics.react.inputs import _check_convention
from listen_jax.metrics.react.sync import fr_syn


def compute_all(pred, listener, speaker, neighbours, *, convention: str = 'react2023',
                groups: Groups | None = None) -> dict[str, float]:
  """All six REACT metrics.

  Args:
    pred: [N, S, T, D] generated reactions.
    listener: [N, T, D] real listener reactions.
    speaker: [N, T, D] speaker behaviour.
    neighbours: [N, N] 0/1 appropriateness matrix.
    convention: 'react2023' or 'corrected'.
    groups: DTW dim groups for FRDist (default `default_groups(D)`).

  Returns:
    {'fr_corr', 'fr_dist', 'fr_div', 'fr_var', 'fr_dvs', 'fr_syn'} -> float.
  """
  _check_convention(convention)
  pred = _as_array(pred, 'pred', 4)
  listener = _as_array(listener, 'listener', 3)
  speaker = _as_array(speaker, 'speaker', 3)
  return {
      'fr_corr': fr_corr(pred, listener, neighbours, convention=convention),
      'fr_dist': fr_dist(pred, listener, neighbours, convention=convention, groups=groups),
      'fr_div': fr_div(pred, convention=convention),
      'fr_var': fr_var(pred, convention=convention),
      'fr_dvs': fr_dvs(pred, convention=convention),
      'fr_syn': fr_syn(pred, speaker, convention=convention),
  }
