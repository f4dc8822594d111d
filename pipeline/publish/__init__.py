"""Publishing: formatting, figures, pages, and the checks every published number passes."""
