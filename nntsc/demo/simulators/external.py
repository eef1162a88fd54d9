"""External: a program counting the users online at each site, every 10 minutes.

The count follows the site's daily load, so it rises and falls with its day.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import load
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

COMMAND = "users-online"


class External(Simulator):
    test = "external"
    period = 600
    summary = "an external program reporting the users online at the site (one integer)"

    def reports_per_run(self) -> int:
        return len(self.mesh.sites)

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        users = round(20 + 180 * load(src, timestamp) + rnd.gauss(0, 6))
        # Without a target name: the program ran on the monitor itself.
        return [{"header": {"command": COMMAND}, "reports": [{"value": max(0, users)}]}]
