"""Old path of :mod:`advsub.experiments.toydata`, kept so that ``advsub.toydata`` still
imports.

``import advsub.toydata`` gives the module ``advsub.experiments.toydata`` itself (one
module, two names).
"""

import sys

from .experiments import toydata

sys.modules[__name__] = toydata
