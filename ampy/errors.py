"""Errors ampy raises; it also lets `nntsc.errors` types through unchanged."""

from nntsc.errors import BadQuery, NntscError, StoreUnavailable, UnknownCollection, UnknownStream

__all__ = ["BadQuery", "NntscError", "StoreUnavailable", "UnknownCollection", "UnknownStream"]
