"""The engine's errors, in a module that imports nothing heavy: the game server catches them in processes that
never load a model (its web processes), and importing planet_engine.checkpoint to name one imported torch."""

from __future__ import annotations


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt or inconsistent with what is installed."""
