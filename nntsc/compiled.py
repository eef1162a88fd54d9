"""Modules that Cython compiles at install, used only when built from their current source.

`setup.py` compiles each module listed there (e.g. `nntsc.sysdig._scan`)
into an extension module of the same name with ``_c`` appended, recording
the SHA-256 of the source it was compiled from. `build_of` gives that
build when its digest is the source's, so an edited source is never
shadowed by an older build; otherwise (no C compiler at install, or a
source edited since) it gives the source module, which does the same
work more slowly. `make venv` rebuilds what is out of date.

The module that stands for a compiled one (`nntsc.sysdig.scan` for
`nntsc.sysdig._scan`) takes its names from `export_build`.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)


def build_of(source: ModuleType) -> ModuleType:
    """The compiled build of `source` when it was built from its current text, else `source`."""
    name = f"{source.__name__}_c"
    try:
        build = importlib.import_module(name)
    except ImportError:
        log.info("%s is not compiled (no C compiler at install?): running the source", name)
        return source
    with open(source.__file__ or "", "rb") as text:
        digest = hashlib.sha256(text.read()).hexdigest()
    if getattr(build, "SOURCE_SHA256", None) != digest:
        log.warning(
            "%s was compiled from another version of %s: using the source, which is slower "
            "(make venv compiles it again)",
            name,
            source.__name__,
        )
        return source
    return build


def export_build(source: ModuleType, namespace: dict[str, Any]) -> ModuleType:
    """Fill `namespace`, the globals of the module standing for `source`, from `build_of`.

    It gets ``implementation`` (the build or `source`), ``COMPILED`` (whether
    that is the build) and every other name its ``__all__`` lists, taken from
    the implementation, which is returned.
    """
    implementation = build_of(source)
    namespace["implementation"] = implementation
    namespace["COMPILED"] = implementation is not source
    for name in namespace["__all__"]:
        if name not in ("implementation", "COMPILED"):
            namespace[name] = getattr(implementation, name)
    return implementation
