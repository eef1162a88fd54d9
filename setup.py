"""The build step setup.cfg cannot declare: Cython compiles the hot loops (optional).

Each module in `COMPILED` becomes an extension module of the same name
with ``_c`` appended, compiled from a copy of its source that records the
source's SHA-256 (`SOURCE_SHA256`), so `nntsc.compiled.build_of` uses a
build only while the source is unchanged. Without a C compiler the build
is skipped (the extensions are optional) and the plain modules run.
"""

import hashlib
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

COMPILED = ["nntsc/sysdig/_scan.py", "nntsc/events/_detectors.py"]
COPIES = Path("build/cython/src")


def stamped_copy(source: str) -> str:
    """A copy of `source` under build/ that ends by recording the digest of `source`."""
    text = Path(source).read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    stamped = (
        text
        + (
            "\n#: SHA-256 of the source this build was compiled from (see nntsc.compiled).\n"
            f'SOURCE_SHA256 = "{digest}"\n'
        ).encode()
    )
    copy = COPIES / source
    # Rewritten only when it changes, so an unchanged source is not compiled again.
    if not copy.exists() or copy.read_bytes() != stamped:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(stamped)
    return str(copy)


setup(
    ext_modules=cythonize(
        [
            Extension(source[:-3].replace("/", ".") + "_c", [stamped_copy(source)], optional=True)
            for source in COMPILED
        ],
        build_dir="build/cython/c",
        compiler_directives={"language_level": 3},
        quiet=True,
    )
)
