"""The review flow for a leader: «Næste sag», findings per case, the reviewer's name."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.reviews.factories import catalogue, items_of, make_plan, make_round, two_team_draw
from tests.reviews.test_views import form, review_of, urls
from tilsyn.reviews.models import ReviewStatus


@pytest.fixture
def site(session, org):
    """An org-wide round sampling AAA (team A) twice and BBA (team B), as in test_views."""
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    rnd = make_round(
        session,
        make_plan(session, "Hele organisationen", None),
        draw,
        [cps["JOBMAAL-01"], cps["SAMLET-01"]],
    )
    session.commit()
    a1, a2, b1 = items_of(session, draw)
    return SimpleNamespace(cps=cps, rnd=rnd, a1=a1, a2=a2, b1=b1, org=org)


def _complete(client, s, item, **extra):
    return client.post(
        urls(s, item)["edit"],
        data=form(s, jobmaal="nej", samlet="2", complete="Afslut gennemgang", **extra),
    )


def test_completing_goes_to_the_next_unreviewed_case_same_caseworker_first(session, site, login_as):
    s = site
    client = login_as("admin")
    page = client.get(urls(s, s.a1)["edit"]).get_data(as_text=True)
    # The edit page offers the next case (AAA's second) as a secondary button.
    assert re.search(
        rf'class="btn btn-outline-secondary" href="{urls(s, s.a2)["edit"]}">Næste sag', page
    )
    response = _complete(client, s, s.a1, next_case="y")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(urls(s, s.a2)["edit"])  # same caseworker
    assert review_of(session, s.a1).status == ReviewStatus.COMPLETED
    response = _complete(client, s, s.a2, next_case="y")
    assert response.headers["Location"].endswith(urls(s, s.b1)["edit"])  # then the next one
    # The last case: back to the round's list.
    response = _complete(client, s, s.b1, next_case="y")
    assert response.headers["Location"].endswith(urls(s, s.b1)["list"])


def test_round_list_counts_not_in_order_and_names_the_reviewer(session, site, login_as):
    s = site
    client = login_as("leder")
    assert _complete(client, s, s.a1).headers["Location"].endswith(urls(s, s.a1)["list"])
    review = review_of(session, s.a1)
    assert review.status == ReviewStatus.COMPLETED
    listing = client.get(urls(s, s.a1)["list"]).get_data(as_text=True)
    assert ">Ikke i orden</th>" in listing
    row = re.search(rf"<tr><td>{s.a1.case_ref}</td>.*?</tr>", listing, flags=re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    assert cells[3].strip() == "1"  # one answer «ikke i orden» (JOBMAAL-01 = nej)
    leader = s.org.users["leder"]
    assert leader.display_name != leader.username
    assert cells[4].strip() == leader.display_name  # the person, not the username
    untouched = re.search(rf"<tr><td>{s.a2.case_ref}</td>.*?</tr>", listing, flags=re.S).group(0)
    assert re.findall(r"<td[^>]*>(.*?)</td>", untouched, flags=re.S)[3].strip() == "—"
