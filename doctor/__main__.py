"""``python -m doctor``: the same as the ``dl-doctor`` command."""

import sys

from doctor.cli import main

sys.exit(main())
