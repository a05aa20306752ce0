"""Allow ``python -m vmail``."""

from vmail.cli.main import main

raise SystemExit(main())
