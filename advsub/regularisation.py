"""Old path of :mod:`advsub.experiments.regularisation`, kept so that
``advsub.regularisation`` still imports.

``import advsub.regularisation`` gives the module ``advsub.experiments.regularisation``
itself (one module, two names).
"""

import sys

from .experiments import regularisation

sys.modules[__name__] = regularisation
