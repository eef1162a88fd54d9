"""What every simulated amplet2 test is: a name, a cadence, and the reports of one run."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh
    from nntsc.demo.model import Site


class Simulator:
    """One amplet2 test on a `SimulatedMesh`: the reports each source sends per run.

    A subclass names its test (as amplet2 and `nntsc.collections.for_amp_test`
    do), how often it runs, and builds the reports of one run at one source
    from the mesh's model and a random stream of its own (`rnd`, seeded from
    the mesh's seed and the test's name), so that what one test reports does
    not depend on which other tests run. Whatever a simulator fixes for a
    whole mesh (who tests whom, the pages served) it draws from a setup
    stream of its own, also seeded by name.
    """

    #: amplet2's name of the test.
    test: ClassVar[str]
    #: Seconds between two runs at one source; ``None`` is the mesh's interval.
    period: ClassVar[int | None]
    #: One line for `nntsc demo-data --help` and `python -m nntsc.demo.simulators`.
    summary: ClassVar[str]

    def __init__(self, mesh: SimulatedMesh) -> None:
        self.mesh = mesh

    def setup_random(self) -> random.Random:
        """The stream this test draws what it fixes for the whole mesh from."""
        return random.Random(f"{self.mesh.seed}:{self.test}:setup")

    def reports_per_run(self) -> int:
        """How many reports one run yields, summed over the sources."""
        raise NotImplementedError

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        """The reports of `src`'s run at `timestamp`, in the shape `nntsc.wire.decode` gives."""
        raise NotImplementedError


def pick(mesh: SimulatedMesh, rnd: random.Random, candidates: list[Site], count: int) -> list[Site]:
    """`count` of `candidates` (all if fewer), in site order."""
    chosen = rnd.sample(candidates, min(count, len(candidates)))
    return [site for site in mesh.sites if any(site is c for c in chosen)]
