"""Sandbox backends: where student code runs. See ``base.Backend``."""

from grader.sandbox.base import Backend, Channel, Limits

__all__ = ["Backend", "Channel", "Limits"]
