"""Initiatives: what the regions did, and their effect estimated against the other regions."""
