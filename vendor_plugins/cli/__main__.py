"""``python -m vendor_plugins.cli``: run ``bmsgw``."""

from . import main

raise SystemExit(main())
