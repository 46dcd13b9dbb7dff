"""Old path of :mod:`advsub.experiments.crosscheck`, kept so that ``advsub.crosscheck``
still imports.

``import advsub.crosscheck`` gives the module ``advsub.experiments.crosscheck`` itself
(one module, two names).
"""

import sys

from .experiments import crosscheck

sys.modules[__name__] = crosscheck
