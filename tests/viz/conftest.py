"""Makes the shared fakes (`viz_fakes.py`) importable by the viz test modules (importlib mode)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
