"""Search spaces: ConfigSpace spaces (and its dict shorthand) <-> plain dicts <-> numeric vectors."""

from lowfi.space.space import Space

__all__ = ["Space"]
