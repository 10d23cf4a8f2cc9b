"""NIL: No-data Imitation Learning as an Isaac Lab 3 extension."""

__version__ = "0.1.0"
