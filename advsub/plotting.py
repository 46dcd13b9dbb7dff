"""Plotting helpers: each draws one figure of the book onto a matplotlib Axes."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
