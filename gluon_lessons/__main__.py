"""`python -m gluon_lessons` is the same as the `gluon-lessons` command."""
import sys

from .cli import main

sys.exit(main())
