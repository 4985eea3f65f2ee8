"""The review pages end to end with the test client: lists, form, draft, complete, scoping."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.factories import (
    SampledCase,
    catalogue,
    items_of,
    make_draw,
    make_plan_row,
    make_round,
    two_team_draw,
)
from tests.factories import option_id as opt
from tilsyn.audit.models import AuditEvent
from tilsyn.reviews.models import CaseReview, ReviewStatus
from tilsyn.rounds.models import Round, RoundStatus


@pytest.fixture
def site(session, org):
    """An org-wide round (JOBMAAL-01, SAMLET-01) sampling AAA (team A) twice and BBA (team B)."""
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


def urls(s, item):
    base = f"/gennemgang/runder/{s.rnd.id}"
    return {
        "list": base,
        "edit": f"{base}/sager/{item.id}",
        "view": f"{base}/sager/{item.id}/vis",
        "reopen": f"{base}/sager/{item.id}/genaabn",
    }


def form(s, jobmaal=None, samlet=None, **extra):
    j, sa = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"]
    data = {f"note_{j.id}": "", f"note_{sa.id}": "", "overall_note": ""}
    if jobmaal:
        data[f"cp_{j.id}"] = str(opt(j, jobmaal))
    if samlet:
        data[f"cp_{sa.id}"] = str(opt(sa, samlet))
    data.update(extra)
    return data


def review_of(session, item):
    session.expire_all()
    return session.scalar(select(CaseReview).where(CaseReview.draw_item_id == item.id))


def test_leader_reviews_a_case_draft_then_complete(session, site, login_as):
    s = site
    client = login_as("leder")
    u = urls(s, s.a1)
    listing = client.get(u["list"]).get_data(as_text=True)
    assert s.a1.case_ref in listing and s.b1.case_ref not in listing  # only the leader's unit
    assert "Gennemgå" in listing and "0 af 3" not in listing

    page = client.get(u["edit"]).get_data(as_text=True)
    j = s.cps["JOBMAAL-01"]
    assert j.question in page and j.legal_reference in page and "<fieldset" in page
    assert f'<label class="form-check-label" for="cp_{j.id}-{opt(j, "ja")}">Ja</label>' in page
    assert "Gem kladde" in page and "Afslut gennemgang" in page

    j_note = f"note_{j.id}"
    response = client.post(u["edit"], data=form(s, jobmaal="nej", **{j_note: "<b>Mangler</b>"}))
    assert response.status_code == 302 and response.headers["Location"].endswith(u["edit"])
    review = review_of(session, s.a1)
    assert review.status == ReviewStatus.DRAFT and review.reviewer_name == "leder"
    assert session.get(Round, s.rnd.id).status == RoundStatus.IN_REVIEW
    page = client.get(u["edit"]).get_data(as_text=True)
    assert "&lt;b&gt;Mangler&lt;/b&gt;" in page and "<b>Mangler" not in page  # escaped
    assert f'value="{opt(j, "nej")}" checked' in page

    # Completing without every answer: refused in Danish, the draft unchanged, input kept.
    response = client.post(
        u["edit"], data=form(s, jobmaal="ja", complete="Afslut gennemgang", overall_note="Kort")
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Mangler svar: SAMLET-01." in page and "Gennemgangen er ikke gemt" in page
    assert f'value="{opt(j, "ja")}" checked' in page and "Kort</textarea>" in page
    review = review_of(session, s.a1)
    assert review.status == ReviewStatus.DRAFT and review.answers[0].outcome == "not_in_order"

    response = client.post(
        u["edit"], data=form(s, jobmaal="ja", samlet="2", complete="Afslut gennemgang")
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(u["list"])
    assert review_of(session, s.a1).status == ReviewStatus.COMPLETED
    listing = client.get(u["list"]).get_data(as_text=True)
    assert "1 af 2 sager afsluttet · kladder: 0 · mangler at blive afsluttet: 1" in listing
    overview = client.get("/gennemgang/").get_data(as_text=True)
    assert "Hele organisationen" in overview

    # A completed review opens read-only; the form redirects there; the leader may reopen it.
    assert client.get(u["edit"]).headers["Location"].endswith(u["view"])
    view = client.get(u["view"]).get_data(as_text=True)
    assert "I orden" in view and "Genåbn gennemgangen" in view
    response = client.post(u["reopen"])
    assert response.status_code == 302 and response.headers["Location"].endswith(u["edit"])
    assert review_of(session, s.a1).status == ReviewStatus.DRAFT


def test_unreadable_or_foreign_options_give_danish_messages(session, site, login_as):
    s = site
    client = login_as("admin")
    j, sa = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"]
    u = urls(s, s.b1)
    page = client.post(u["edit"], data=form(s, **{f"cp_{j.id}": "abc"})).get_data(as_text=True)
    assert "JOBMAAL-01: svaret kan ikke læses" in page
    page = client.post(u["edit"], data=form(s, **{f"cp_{j.id}": str(opt(sa, "3"))})).get_data(
        as_text=True
    )
    assert "JOBMAAL-01: svaret hører ikke til kontrolpunktets svarskala" in page
    assert review_of(session, s.b1) is None
    assert session.get(Round, s.rnd.id).status == RoundStatus.DRAWN


def _fieldset(page, cp):
    """The HTML of the control point's fieldset."""
    start = page.rindex("<fieldset", 0, page.index(f'name="cp_{cp.id}"'))
    return page[start : page.index("</fieldset>", start)]


def test_form_errors_are_tied_to_each_control_points_field(session, site, login_as):
    s = site
    client = login_as("admin")
    j, sa = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"]
    u = urls(s, s.b1)
    page = client.post(
        u["edit"], data=form(s, jobmaal="ja", complete="Afslut gennemgang")
    ).get_data(as_text=True)
    assert "Mangler svar: SAMLET-01." in page  # still listed on top
    missing = _fieldset(page, sa)
    assert re.search(rf'<fieldset[^>]*aria-describedby="[^"]*\bfejl-{sa.id}\b', missing)
    error = re.search(rf'<p [^>]*id="fejl-{sa.id}">([^<]*)</p>', missing)
    assert error and "Vælg et svar" in error.group(1)
    radios = re.findall(rf'<input [^>]*name="cp_{sa.id}"[^>]*>', missing)
    assert radios and all(
        f'aria-describedby="fejl-{sa.id}"' in r and 'aria-invalid="true"' in r for r in radios
    )
    assert "fejl-" not in _fieldset(page, j) and "aria-invalid" not in _fieldset(page, j)

    page = client.post(u["edit"], data=form(s, **{f"cp_{j.id}": "abc"})).get_data(as_text=True)
    error = re.search(rf'<p [^>]*id="fejl-{j.id}">([^<]*)</p>', _fieldset(page, j))
    assert error and "svaret kan ikke læses" in error.group(1)
    assert "fejl-" not in _fieldset(page, sa)  # a draft needs no answer
    page = client.get(u["edit"]).get_data(as_text=True)
    assert "fejl-" not in page and "aria-invalid" not in page


def test_leader_of_another_unit_is_refused(session, site, login_as):
    s = site
    client = login_as("leder")
    u = urls(s, s.b1)
    assert client.get(u["edit"]).status_code == 403
    assert client.post(u["edit"], data=form(s, jobmaal="ja")).status_code == 403
    assert client.get(u["view"]).status_code == 403
    assert client.post(u["reopen"]).status_code == 403
    assert review_of(session, s.b1) is None
    # A round of team B's own plan is refused as a whole.
    draw = make_draw(session, s.org, [SampledCase(s.org.cw_b2, "sygedagpenge", 0.5)], tag="b")
    other = make_round(
        session, make_plan_row(session, "Team B", s.org.unit_b.id), draw, [s.cps["SAMLET-01"]]
    )
    session.commit()
    assert client.get(f"/gennemgang/runder/{other.id}").status_code == 403
    assert (
        client.get(
            f"/gennemgang/runder/{other.id}/sager/{items_of(session, draw)[0].id}"
        ).status_code
        == 403
    )
    # An item that is not in the round's draw does not exist there.
    assert (
        client.get(
            f"/gennemgang/runder/{s.rnd.id}/sager/{items_of(session, draw)[0].id}"
        ).status_code
        == 404
    )


@pytest.mark.parametrize("username", ["sagsbehandler", "direktoer", "revisor"])
def test_caseworkers_directors_and_auditors_are_refused(session, site, login_as, username):
    s = site
    client = login_as(username)
    u = urls(s, s.a1)  # AAA is the demo caseworker user's own caseworker
    assert client.get("/gennemgang/").status_code == 403
    assert client.get(u["list"]).status_code == 403
    assert client.get(u["edit"]).status_code == 403
    assert client.post(u["edit"], data=form(s, jobmaal="ja")).status_code == 403
    assert client.get(u["view"]).status_code == 403
    assert client.post(u["reopen"]).status_code == 403
    assert review_of(session, s.a1) is None


def test_case_level_pages_are_audited_and_in_the_menu(session, site, login_as):
    s = site
    client = login_as("leder")
    u = urls(s, s.a1)
    client.get(u["list"])
    client.get(u["edit"])
    client.get(u["view"])
    session.expire_all()
    events = session.execute(
        select(AuditEvent.action, AuditEvent.object_type, func.count())
        .where(AuditEvent.actor_name == "leder", AuditEvent.action == "view")
        .group_by(AuditEvent.action, AuditEvent.object_type)
    ).all()
    assert sorted(tuple(e) for e in events) == [
        ("view", "case_review", 2),
        ("view", "round_reviews", 1),
    ]
    home = client.get("/gennemgang/").get_data(as_text=True)
    assert 'href="/gennemgang/"' in home and ">Gennemgang<" in home
