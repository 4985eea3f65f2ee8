"""Acceptance on the demo: the caseworker's /min-feedback lists their own released reviews (a
subset of Mine sager) and nobody else's; every action status is there to see; directors and
auditors get no case-level text from any feedback or action page."""

from __future__ import annotations

import re
import warnings
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import SADeprecationWarning

from tilsyn.auth.models import User
from tilsyn.cases.models import Case
from tilsyn.demo import build_demo
from tilsyn.feedback.models import FeedbackComment, FeedbackRelease, FollowUpAction
from tilsyn.org.models import Caseworker
from tilsyn.reviews.models import CaseReview
from tilsyn.sampling.models import DrawItem

PASSWORD = "demo-adgang-1"


def _login(client, username):
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


def _get(client, url):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SADeprecationWarning)  # core.services (see test_demo)
        return client.get(url)


def test_demo_feedback_for_every_role(session, client):
    build_demo(session, seed=2026, password=PASSWORD, today=date.today())
    session.commit()
    own_user = session.scalar(select(User).where(User.username == "sagsbehandler"))
    own_cw = own_user.caseworker_id
    released = session.execute(
        select(DrawItem.case_ref, FeedbackRelease.caseworker_id)
        .join(CaseReview, FeedbackRelease.review_id == CaseReview.id)
        .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
    ).all()
    own_refs = {ref for ref, cw in released if cw == own_cw}
    other_refs = {ref for ref, cw in released if cw != own_cw} - own_refs
    assert own_refs and other_refs
    # Acknowledged and unacknowledged releases, comment threads, every action status.
    acks = {r.acknowledged_at is None for r in session.scalars(select(FeedbackRelease))}
    assert acks == {True, False}
    assert session.scalar(select(FeedbackComment.id)) is not None
    statuses = {a.status for a in session.scalars(select(FollowUpAction))}
    assert statuses == {"open", "done", "approved", "cancelled"}
    today = date.today()
    mine = session.scalars(select(FollowUpAction).where(FollowUpAction.caseworker_id == own_cw))
    mine = list(mine)
    assert {a.status for a in mine} == statuses
    assert any(a.overdue_on(today) for a in mine)

    _login(client, "sagsbehandler")
    html = _get(client, "/min-feedback").get_data(as_text=True)
    listed = set(re.findall(r'<span class="case-ref">([^<]+)</span>', html))
    assert listed == own_refs
    my_cases = _get(client, "/mine-sager").get_data(as_text=True)
    assert all(f"<td>{ref}</td>" in my_cases for ref in listed)  # a subset of Mine sager
    assert [ref for ref in other_refs if ref in html] == []
    actions_html = _get(client, "/opfoelgning/mine").get_data(as_text=True)
    for label in ("Åben", "Overskredet", "Udført", "Godkendt", "Annulleret"):
        assert label in actions_html, label

    # The leader sees acknowledgements and threads on the round page of their team.
    _login(client, "leder")
    rel = session.scalar(
        select(FeedbackRelease)
        .join(FeedbackComment, FeedbackComment.release_id == FeedbackRelease.id)
        .where(FeedbackRelease.caseworker_id == own_cw)
    )
    assert rel is not None
    page = _get(client, f"/feedback/gennemgang/{rel.review_id}").get_data(as_text=True)
    assert rel.comments[0].body in page

    # Directors and auditors: no case references, names or free text anywhere they can go.
    secrets = set(session.scalars(select(Case.case_ref))) | set(
        session.scalars(select(Caseworker.name))
    )
    secrets |= {c.body for c in session.scalars(select(FeedbackComment))}
    secrets |= {a.description for a in session.scalars(select(FollowUpAction))}
    for username, urls in (
        ("direktoer", ["/opfoelgning/overblik"]),
        ("revisor", ["/opfoelgning/overblik", "/opfoelgning/register"]),
    ):
        _login(client, username)
        for url in urls:
            response = _get(client, url)
            assert response.status_code == 200
            html = response.get_data(as_text=True)
            assert "Sygedagpenge Nord" in html
            assert [s for s in secrets if s in html] == [], (username, url)
        for url in ("/min-feedback", f"/min-feedback/{rel.id}", "/opfoelgning/"):
            assert _get(client, url).status_code == 403
