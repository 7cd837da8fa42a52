"""The owner's words for results: the headline says how sure it is."""

from __future__ import annotations

from app.core.wording import headline


def test_headline_tells_how_sure():
    h = headline(23 / 25, 25)
    assert h.kind == "judged" and (h.hits, h.held) == (23, 25)
    assert "23 of 25" in h.text and "92 %" in h.text and "likely between" in h.text
    few = headline(1.0, 4)
    assert few.kind == "too-few" and "Not enough photos to judge" in few.text
    assert "100 %" not in few.text
    none = headline(None, None)
    assert none.kind == "unmeasured" and "not enough photos to judge" in none.text
