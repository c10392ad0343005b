"""``python -m core …``: the command line (see :mod:`core.cli`)."""
from .cli import main

raise SystemExit(main())
