"""Sampling labels and sentences shown in the UI are wrapped for translation as whole msgids."""

from __future__ import annotations

from tests.risk.test_translatable import msgids
from tilsyn.sampling.models import PURPOSES, Draw


def test_purposes_and_snapshot_label_are_translatable() -> None:
    assert {str(label) for label in PURPOSES.values()} <= msgids("tilsyn/sampling/models.py")
    assert Draw(purpose="round").purpose_label == "Tilsynsrunde"
    assert Draw(purpose="ukendt").purpose_label == "ukendt"
    assert "%(date)s – %(file)s (%(n)s sager, nr. %(id)s)" in msgids("tilsyn/sampling/records.py")


def test_draw_page_uses_whole_sentences_not_fragments() -> None:
    found = msgids("templates/sampling/detail.html", "jinja2")
    assert {
        "%(n)s af %(total)s sager",
        "Du ser sagerne for sagsbehandlerne i dine teams: %(n)s af %(total)s.",
        "%(date)s af %(name)s (%(purpose)s)",
        "nr. %(id)s pr. %(date)s, %(file)s",
    } <= found
    # "af" alone is "by" in "drawn by"; it must not be glued into "20 af 518 sager"
    assert "af" not in found and "nr." not in found and "pr." not in found
    # the singular "Sagsudtræk" (one snapshot) has its own context, apart from the menu's plural
    assert "Sagsudtræk" not in found and "ét sagsudtræk\x04Sagsudtræk" in found
