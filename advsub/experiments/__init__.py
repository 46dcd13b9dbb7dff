"""The experiments layer: what the chapters run, built from the library below it.

Modules here may import the library (geometry, network, training, theory, attacks, …)
but never ``advsub.figures``; nothing in the library imports from here.
"""
