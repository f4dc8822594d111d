"""Physician workforce planning for Danish psychiatry.

The importable library behind the notebooks: every computation lives here, the notebooks tell the
story. Importing the package is cheap; heavy libraries are imported by the modules that need them.
"""

__version__ = "0.1.0"
