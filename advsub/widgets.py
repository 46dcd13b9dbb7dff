"""Interactive explorers (ipywidgets) for JupyterLab; each chapter also draws a static fallback figure."""
from __future__ import annotations
