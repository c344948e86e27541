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


def _request(
    method: str, url: str, token: str, body: dict[str, Any] | None = None, refused: bool = False
) -> Any:
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
        if refused and exc.code in (401, 403, 404):
            raise _Refused from None
        raise UsageError(f"GitHub API {method} {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise UsageError(f"GitHub API {method} {url}: {exc}") from None


ACTIONS_BOT = "github-actions[bot]"


class _Refused(Exception):
    pass


def _identity(api: str, token: str) -> str:
    """The login the token writes as: GitHub's ``/user``, or, for the Actions token (which may
    not read ``/user``), the Actions bot."""
    try:
        user = _request("GET", f"{api}/user", token, refused=True)
    except _Refused:
        return ACTIONS_BOT
    return str((user or {}).get("login") or ACTIONS_BOT)


def upsert_comment(body: str, repo: str, pr: int, token: str, api_url: str = "https://api.github.com") -> str:
    """Update our comment on ``pr``, or create it. Returns its URL.

    Ours is a comment written by the token's own identity whose body starts with the marker:
    another person's comment that quotes the marker is never touched.
    """
    if not token:
        raise UsageError("posting the comment needs a token: set GITHUB_TOKEN")
    api = api_url.rstrip("/")
    me = _identity(api, token)
    base = f"{api}/repos/{repo}/issues/{pr}/comments"
    page = 1
    while True:
        comments = _request("GET", f"{base}?per_page=100&page={page}", token)
        for comment in comments or []:
            author = str((comment.get("user") or {}).get("login", ""))
            if author == me and str(comment.get("body", "")).startswith(MARKER):
                updated = _request(
                    "PATCH", f"{api}/repos/{repo}/issues/comments/{comment['id']}", token, {"body": body}
                )
                return str(updated.get("html_url", ""))
        if not comments or len(comments) < 100:
            break
        page += 1
    created = _request("POST", base, token, {"body": body})
    return str(created.get("html_url", ""))
