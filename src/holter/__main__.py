"""``python -m holter`` is the ``holter`` command."""
from holter.cli import main

raise SystemExit(main())
