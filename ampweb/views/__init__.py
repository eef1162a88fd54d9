"""Views: pages, the JSON/CSV API, health and metrics, and error mapping."""

from __future__ import annotations

import json
from typing import Any


def script_json(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` element of a page.

    "<" is escaped so that no value (a site's name, a description) can close
    the element early.
    """
    return json.dumps(data).replace("<", "\\u003c")
