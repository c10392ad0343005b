"""Entry point: ``python -m core.worker``."""
from .server import main

raise SystemExit(main())
