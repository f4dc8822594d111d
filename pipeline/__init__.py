"""Physician workforce planning for Danish psychiatry.

The importable library behind the notebooks: every computation lives here, the notebooks tell the
story. Importing the package is cheap; heavy libraries are imported by the modules that need them.

Importing it keeps jsonschema (under nbformat, which papermill, jupytext and nbconvert import)
from loading ``rfc3987_syntax`` for its optional IRI format checks: that module builds a Lark
grammar at import, 1.3-1.9 s of every stage's start, in the runner and in a kernel that imports
the page code. Notebook validation never checks IRI formats, and jsonschema skips the checker
when the import fails.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
