"""The errors an engine, the catalogue or a worker raise, shared with the bot (torch-free).

An EngineError's message is one a Discord user may read: no tracebacks, no paths with secrets.
"""

from __future__ import annotations


class EngineError(Exception):
    """A failure whose message a Discord user may read (no tracebacks, no paths with secrets)."""


class EngineNotFound(EngineError):
    pass


class CatalogueError(EngineError):
    pass


class UnsupportedOperation(EngineError):
    pass


class GenerationCancelled(Exception):
    pass


class EngineOutOfMemory(EngineError):
    """Raised when the device ran out of memory; the worker retries once with a smaller batch."""
