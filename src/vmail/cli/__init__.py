"""Command-line faces: thin translation of argv into library calls."""
