"""The analyses, one package per stage: models apart from their figures, tables and text."""
