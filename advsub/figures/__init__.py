"""The figures layer (top): plotting and interactive explorers. May import everything
below it; the only layer that imports matplotlib and ipywidgets."""
