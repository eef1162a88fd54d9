"""ampy: the query library the web app and scripts use to ask questions of the stores."""

from ampy.api import Ampy
from ampy.binsize import choose_binsize

__all__ = ["Ampy", "choose_binsize"]
