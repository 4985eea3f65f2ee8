"""The review flow for a leader: «Næste sag», findings per case, the reviewer's name."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.factories import catalogue, items_of, make_plan_row, make_round, two_team_draw
from tests.reviews.test_views import form, review_of, urls
from tilsyn.reviews.models import ReviewStatus


@pytest.fixture
def site(session, org):
    """An org-wide round sampling AAA (team A) twice and BBA (team B), as in test_views."""
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    rnd = make_round(
        session,
        make_plan_row(session, "Hele organisationen", None),
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


def test_closing_with_missing_reviews_asks_first_and_says_what_is_missing(session, site, login_as):
    from tilsyn.rounds.models import Round, RoundStatus

    s = site
    client = login_as("admin")
    _complete(client, s, s.a1)  # one of three done: the round is in review
    session.expire_all()
    assert session.get(Round, s.rnd.id).status == RoundStatus.IN_REVIEW
    page = client.get(f"/tilsyn/runder/{s.rnd.id}").get_data(as_text=True)
    # «Afslut» is a secondary link to the confirmation while reviews are missing.
    assert re.search(r'class="btn btn-sm btn-outline-secondary" href="[^"]+/afslut">Afslut', page)
    assert 'name="confirmed"' not in page
    assert "2 sager mangler at blive gennemgået" in page
    # Replacing the draw is on its own page behind a secondary button.
    assert "/udskift-stikproeve" in page and 'name="reason"' not in page
    # A close without confirmation is sent to the confirmation page, the round stays open.
    response = client.post(f"/tilsyn/runder/{s.rnd.id}/status", data={"target": "closed"})
    assert response.headers["Location"].endswith(f"/tilsyn/runder/{s.rnd.id}/afslut")
    session.expire_all()
    assert session.get(Round, s.rnd.id).status == RoundStatus.IN_REVIEW
    confirm = client.get(f"/tilsyn/runder/{s.rnd.id}/afslut").get_data(as_text=True)
    assert "2 af 3 udtrukne sager mangler" in confirm
    assert s.org.cw_a1.initials in confirm and s.org.cw_b1.initials in confirm
    assert 'class="btn btn-primary" href="/gennemgang/runder/' in confirm  # continue is primary
    assert "btn-outline-danger" in confirm and "Afslut alligevel" in confirm
    response = client.post(
        f"/tilsyn/runder/{s.rnd.id}/status", data={"target": "closed", "confirmed": "1"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Round, s.rnd.id).status == RoundStatus.CLOSED


def test_replace_draw_page_asks_for_a_reason(session, site, login_as):
    s = site
    client = login_as("admin")
    page = client.get(f"/tilsyn/runder/{s.rnd.id}/udskift-stikproeve").get_data(as_text=True)
    assert 'name="reason"' in page and "btn-outline-danger" in page
    assert f'action="/tilsyn/runder/{s.rnd.id}/traek"' in page
    assert (
        login_as("direktoer").get(f"/tilsyn/runder/{s.rnd.id}/udskift-stikproeve").status_code
        == 403
    )
