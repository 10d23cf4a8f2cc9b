"""Errors of Stage 1, so that callers can tell bad input from a broken bundle."""

REGENERATE_HINT = "regenerate it with scripts/generate_reference.py"


class ReferenceInputError(ValueError):
    """An input (video, first frame, mask, generator id, option) cannot make a reference."""


class BundleError(RuntimeError):
    """A saved reference bundle cannot be loaded as it is."""
