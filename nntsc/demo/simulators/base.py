"""What every simulated amplet2 test is: a name, a cadence, and the reports of one run."""

from __future__ import annotations

import random
from functools import cached_property
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


class PartnerSimulator(Simulator):
    """A test each source runs towards a few other sites it keeps (its partners).

    The partners are drawn once per mesh from the setup stream: `partners` of
    the other sites, or one of its counts at random when it names several.
    A run is one report per partner (`report`).
    """

    #: How many partners a source has; one of these at random when several.
    partners: ClassVar[tuple[int, ...]] = (1,)

    @cached_property
    def targets(self) -> dict[str, list[Site]]:
        """Whom each source tests towards."""
        setup = self.setup_random()
        targets = {}
        for src in self.mesh.sites:
            count = self.partners[0] if len(self.partners) == 1 else setup.choice(self.partners)
            targets[src.name] = pick(self.mesh, setup, self.mesh.others(src), count)
        return targets

    def reports_per_run(self) -> int:
        return sum(len(targets) for targets in self.targets.values())

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        return [self.report(src, dst, timestamp, rnd) for dst in self.targets[src.name]]

    def report(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        """The report of one test from `src` to `dst`."""
        raise NotImplementedError


def pick(mesh: SimulatedMesh, rnd: random.Random, candidates: list[Site], count: int) -> list[Site]:
    """`count` of `candidates` (all if fewer), in site order."""
    chosen = rnd.sample(candidates, min(count, len(candidates)))
    return [site for site in mesh.sites if any(site is c for c in chosen)]
