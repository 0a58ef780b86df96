"""Render deepbasics' plain-text docstrings faithfully in the API reference.

The docstrings are plain text: aligned columns (``loss           name or Loss``) and indented
formulas. Markdown would run such lines together into one paragraph, so every paragraph
that is laid out in columns or indented becomes a preformatted block; prose stays prose.
"""
from __future__ import annotations

import re
import textwrap

import griffe

ALIGNED = re.compile(r"\S {2,}\S")


def _laid_out(paragraph: list[str]) -> bool:
    return any(line.startswith(" ") or ALIGNED.search(line) for line in paragraph)


def plain_to_markdown(text: str) -> str:
    out, paragraph = [], []

    def flush():
        if paragraph:
            if _laid_out(paragraph):
                out.extend(["```text", *textwrap.dedent("\n".join(paragraph)).splitlines(), "```"])
            else:
                out.extend(paragraph)
            out.append("")
            paragraph.clear()

    for line in text.splitlines():
        if line.strip():
            paragraph.append(line.rstrip())
        else:
            flush()
    flush()
    return "\n".join(out).strip()


class PlainDocstrings(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and "```" not in obj.docstring.value:
            obj.docstring.value = plain_to_markdown(obj.docstring.value)
