"""Makes the shared build helper (`raw_builds.py`) importable by the raw-reader tests (importlib mode)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
