"""Bad-input tests: the tiny synthetic raw layouts every case starts from, and `bad_input_cases` importable.

Every case copies a layout into its tmp_path before corrupting it, so one layout per session serves them all.
"""
import os
import sys

import pytest

from listen_jax import synthetic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def vico_raw(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("vico_raw"))
  synthetic.make_vico(root, num_clips=4, seed=0, min_seconds=1.5, max_seconds=1.5, short_fraction=0.0)
  return root


@pytest.fixture(scope="session")
def react_raw(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("react_raw"))
  synthetic.make_react(root, num_clips=4, seed=0, min_seconds=1.5, max_seconds=1.5)
  return root
