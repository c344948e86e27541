"""Pure functions from result dataclasses to text: console, JSON, SARIF, Markdown, GitHub."""
