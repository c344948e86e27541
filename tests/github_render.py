"""What GitHub shows for a comment: cmark-gfm (GitHub's Markdown engine) renders it, then the
visible text, the links and the would-be mentions are read from the HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

WORD_JOINER = "\u2060"  # what the renderers put in to break a link or mention

# GitHub's own filters, run on the rendered text outside code and links
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9-]*")
REFERENCE = re.compile(r"(?<![\w&])(?:#|GH-)\d+", re.IGNORECASE)


@dataclass
class Rendered:
    html: str
    text: str = ""  # everything a reader sees, word joiners removed
    prose: list[str] = field(default_factory=list)  # text outside code and links, as GitHub filters it
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    tables: list[list[int]] = field(default_factory=list)  # cells per row, one list per table
    code_blocks: list[tuple[str, str]] = field(default_factory=list)  # (language, text)

    @property
    def mentions(self) -> list[str]:
        return [m for text in self.prose for m in (*MENTION.findall(text), *REFERENCE.findall(text))]


class _Reader(HTMLParser):
    def __init__(self, out: Rendered) -> None:
        super().__init__(convert_charrefs=True)
        self.out = out
        self.stack: list[str] = []
        self.parts: list[str] = []
        self.capture: list[str] | None = None
        self.code_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        attributes = dict(attrs)
        if tag == "a":
            self.out.links.append(attributes.get("href") or "")
        if tag == "img":
            self.out.images.append(attributes.get("src") or "")
        if tag == "table":
            self.out.tables.append([])
        if tag == "tr":
            self.out.tables[-1].append(0)
        if tag in ("td", "th"):
            self.out.tables[-1][-1] += 1
        if tag == "pre":
            self.code_lang = attributes.get("lang") or ""
        if tag in ("summary", "h1", "h2", "h3", "h4", "h5", "h6") or (tag == "code" and "pre" in self.stack):
            self.capture = []

    def handle_endtag(self, tag: str) -> None:
        if self.capture is not None and (tag in ("summary", "h1", "h2", "h3", "h4", "h5", "h6", "code")):
            text = "".join(self.capture).replace(WORD_JOINER, "")
            if tag == "summary":
                self.out.summaries.append(text)
            elif tag == "code":
                self.out.code_blocks.append((self.code_lang, text))
            else:
                self.out.headings.append(text)
            self.capture = None
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self.capture is not None:
            self.capture.append(data)
        if not {"code", "a", "pre"} & set(self.stack):
            self.out.prose.append(data)

    def handle_comment(self, data: str) -> None:
        self.out.comments.append(data)


def render(markdown: str) -> Rendered:
    """As GitHub renders a comment (raw HTML kept, as GitHub keeps what its sanitizer allows)."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    out = Rendered(html)
    reader = _Reader(out)
    reader.feed(html)
    reader.close()
    out.text = "".join(reader.parts).replace(WORD_JOINER, "")
    return out
