"""What people read about a draw: scheme labels, not codes."""

from __future__ import annotations

import re

from tests.factories import make_population
from tilsyn.risk.versions import ensure_default_model
from tilsyn.sampling.design import DesignParams
from tilsyn.sampling.draw import draw_sample
from tilsyn.schemes import SCHEME_NAMES_DA


def test_draw_page_shows_scheme_labels(session, org, login_as):
    ensure_default_model(session, org.users["admin"])
    population = make_population(session, [(org.cw_a1, 12), (org.cw_b1, 10)])
    draw = draw_sample(session, None, population, DesignParams(), seed=3, prior_findings={})
    session.commit()
    page = login_as("revisor").get(f"/stikproever/{draw.id}").get_data(as_text=True)
    cells = re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td>", page)
    assert len(cells) == draw.sample_size
    assert set(cells) <= set(SCHEME_NAMES_DA.values())
    assert set(cells) == {SCHEME_NAMES_DA[it.scheme] for it in draw.items}
