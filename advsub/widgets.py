"""Old path of :mod:`advsub.figures.widgets`, kept so that ``advsub.widgets`` still
imports.

``import advsub.widgets`` gives the module ``advsub.figures.widgets`` itself (one
module, two names).
"""

import sys

from .figures import widgets

sys.modules[__name__] = widgets
