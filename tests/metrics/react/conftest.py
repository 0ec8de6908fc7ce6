"""Makes the shared references (`react_references.py`) importable by the REACT metric tests (importlib mode)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
