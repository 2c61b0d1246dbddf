"""Every relative link of the project's own documentation resolves to a file in the project.

Covers README.md, docs/ (the contract copies included), dbt_project/README.md and
bench/RESULTS.md: inline links and images ``[text](path)``, and reference definitions
``[label]: path``, outside code. Web links and in-page anchors are not followed; a path's
``#anchor`` is dropped.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        ROOT / "README.md",
        *ROOT.glob("docs/**/*.md"),
        ROOT / "dbt_project" / "README.md",
        ROOT / "bench" / "RESULTS.md",
    ]
)
INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|//|#)", re.I)


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code spans."""
    text = re.sub(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", "", text, flags=re.M | re.S)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text, flags=re.S)


def relative_links(doc: Path) -> list[str]:
    text = prose(doc.read_text(encoding="utf-8"))
    targets = INLINE.findall(text) + REFERENCE.findall(text)
    return [target for target in targets if not EXTERNAL.match(target)]


def test_the_documents_exist_and_link_somewhere() -> None:
    assert all(doc.is_file() for doc in DOCS)
    assert (ROOT / "docs" / "contracts" / "SOURCES.md") in DOCS
    assert "docs/contracts/KPIS.md" in relative_links(ROOT / "README.md")


def test_the_link_parser() -> None:
    doc = '[a](x.md) ![b](img/y.png "t") [c](https://e.org) [d](#top) `[e](no.md)`\n[f]: z.md\n'
    code = "```sh\n[g](no.md)\n```\n"
    text = prose(doc + code)
    assert INLINE.findall(text) == ["x.md", "img/y.png", "https://e.org", "#top"]
    assert REFERENCE.findall(text) == ["z.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in relative_links(doc):
        resolved = (doc.parent / target.split("#", 1)[0]).resolve()
        if not resolved.exists() or not resolved.is_relative_to(ROOT):
            broken.append(target)
    assert broken == [], f"{doc.relative_to(ROOT)} links to missing files or out of the project"


def test_the_contract_copies_are_unedited() -> None:
    """docs/contracts/ holds byte-identical copies: their SHA-256 is the one its README records
    for the copy (copy the originals again and update it, never edit the copies)."""
    folder = ROOT / "docs" / "contracts"
    recorded = dict(re.findall(r"`(\w+\.md)` ([0-9a-f]{64})", (folder / "README.md").read_text()))
    assert sorted(recorded) == ["KPIS.md", "SOURCES.md"]
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
