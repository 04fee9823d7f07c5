"""``python -m retention``: see retention.cli."""

from retention.cli import main

raise SystemExit(main())
