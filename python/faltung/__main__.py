"""`python -m faltung`: the same command as `faltung` (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
