"""``python -m shugu.front SETTINGS_JSON``: one front process (started by ``shugu serve``)."""

import sys

from shugu.front.process import main

sys.exit(main())
