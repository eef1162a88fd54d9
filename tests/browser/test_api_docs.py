"""The API documentation page (/api/v1/docs) in Chromium: drawn from the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ampweb.views.openapi import openapi_document

METHODS = ("get", "put", "post", "delete", "patch")


def test_api_docs_page_renders_every_operation(
    live_server: Any, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/")
    # Linked from every page's footer.
    page.locator("footer.site-footer").get_by_role("link", name="REST API").click()
    page.wait_for_url(f"{live_server.url}/api/v1/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    operations = [
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in METHODS
    ]
    shown = zip(
        page.locator(".swagger-ui .opblock-summary-method").all_inner_texts(),
        page.locator(".swagger-ui .opblock-summary-path").all_inner_texts(),
        strict=True,
    )
    # Swagger UI breaks long paths with zero-width spaces.
    assert sorted((m, p.replace("\u200b", "").strip()) for m, p in shown) == sorted(operations)
    title = page.locator(".swagger-ui .info .title").inner_text()
    assert openapi_document()["info"]["title"] in title
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)

    # An operation opens with its parameters and answers.
    page.locator("#operations-streams-getStreamData").get_by_role("button").first.click()
    page.locator("#operations-streams-getStreamData .parameters").wait_for()
    assert "binsize" in page.locator("#operations-streams-getStreamData").inner_text()
    page.screenshot(path=str(artifacts / "api-docs-operation.png"), full_page=False)
    assert watched.problems == []
