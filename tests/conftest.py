import sys
from pathlib import Path

# tests/helpers.py is imported as `helpers` by every test module.
sys.path.insert(0, str(Path(__file__).parent))
