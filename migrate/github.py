"""The one pull-request comment the report lives in: found by its marker, then updated or created.

Plain HTTPS against the GitHub REST API (``GITHUB_API_URL`` in Actions), so the Action's logic
lives here and is tested like the rest of the tool.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from migrate.errors import UsageError
from migrate.reports.combined import MARKER


def _request(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise UsageError(f"GitHub API {method} {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise UsageError(f"GitHub API {method} {url}: {exc}") from None


def upsert_comment(body: str, repo: str, pr: int, token: str, api_url: str = "https://api.github.com") -> str:
    """Update the comment that carries our marker on ``pr``, or create it. Returns its URL."""
    if not token:
        raise UsageError("posting the comment needs a token: set GITHUB_TOKEN")
    base = f"{api_url.rstrip('/')}/repos/{repo}/issues/{pr}/comments"
    page = 1
    while True:
        comments = _request("GET", f"{base}?per_page=100&page={page}", token)
        for comment in comments or []:
            if MARKER in str(comment.get("body", "")):
                updated = _request(
                    "PATCH",
                    f"{api_url.rstrip('/')}/repos/{repo}/issues/comments/{comment['id']}",
                    token,
                    {"body": body},
                )
                return str(updated.get("html_url", ""))
        if not comments or len(comments) < 100:
            break
        page += 1
    created = _request("POST", base, token, {"body": body})
    return str(created.get("html_url", ""))
