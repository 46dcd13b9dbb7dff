"""Old path of :mod:`advsub.figures.plotting`, kept so that ``advsub.plotting`` still
imports.

``import advsub.plotting`` gives the module ``advsub.figures.plotting`` itself (one
module, two names).
"""

import sys

from .figures import plotting

sys.modules[__name__] = plotting
