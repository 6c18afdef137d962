"""``python -m doctor``: the same as the ``dl-doctor`` command.

``-m`` puts the current folder first on sys.path, so a learner's ``packaging/`` or ``tabulate.py`` there would be
imported instead of the doctor's own dependencies: the folder is taken off before anything else is imported. A
``doctor.py`` in that folder is run by ``python -m doctor`` itself before this file could act: the README says to
use the ``dl-doctor`` command there.
"""

import os
import sys

if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from doctor.cli import main  # noqa: E402

sys.exit(main())
