"""The feedback pages per role: own rows for caseworkers, own units for leaders, no case-level
text for directors and auditors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.feedback.factories import setup_round
from tilsyn.feedback import actions, release
from tilsyn.feedback.models import ActionStatus, FeedbackRelease, FollowUpAction


@pytest.fixture
def s(session, org):
    setup = setup_round(session, org)
    admin = org.users["admin"]
    from tilsyn.feedback import plans

    plans.save_settings(session, admin, setup.round.plan_id, "comment", 1)
    release.release(session, admin, setup.round.id)
    action = actions.create_action(
        session,
        admin,
        setup.reviews[0].id,
        description="HEMMELIG-HANDLING registrér jobmålet",
        owner="caseworker",
        due_date=date.today() + timedelta(days=20),
        today=date.today(),
        control_point_id=setup.points["JOBMAAL-01"].id,
    )
    actions.create_action(
        session,
        admin,
        setup.reviews[2].id,
        description="BBA-HANDLING",
        owner="caseworker",
        due_date=date.today() + timedelta(days=20),
        today=date.today(),
    )
    session.commit()
    setup.action_id = action.id  # type: ignore[attr-defined]
    return setup


def _release_of(session, review_id):
    return session.scalar(select(FeedbackRelease).where(FeedbackRelease.review_id == review_id))


def test_caseworker_sees_own_feedback_only_and_walks_the_loop(login_as, session, s):
    client = login_as("sagsbehandler")
    html = client.get("/min-feedback").get_data(as_text=True)
    assert s.items[0].case_ref in html and s.items[1].case_ref in html
    assert s.items[2].case_ref not in html  # BBA's case
    own = _release_of(session, s.reviews[0].id)
    other = _release_of(session, s.reviews[2].id)
    page = client.get(f"/min-feedback/{own.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Jobmålet mangler" in text and "HEMMELIG-HANDLING" in text
    assert client.get(f"/min-feedback/{other.id}").status_code == 403
    assert client.post(f"/min-feedback/{other.id}/kvitter").status_code == 403
    assert client.post(f"/feedback/{other.id}/kommentar", data={"body": "x"}).status_code == 403
    response = client.post(f"/min-feedback/{own.id}/kvitter", follow_redirects=True)
    assert "Tak, du har kvitteret" in response.get_data(as_text=True)
    response = client.post(
        f"/feedback/{own.id}/kommentar", data={"body": "Rettet nu."}, follow_redirects=True
    )
    assert "Rettet nu." in response.get_data(as_text=True)
    html = client.get("/opfoelgning/mine").get_data(as_text=True)
    assert "HEMMELIG-HANDLING" in html and "BBA-HANDLING" not in html
    response = client.post(
        f"/opfoelgning/{s.action_id}/udfoert", data={"note": "Jobmålet er registreret"}
    )
    assert response.status_code == 302
    assert session.get(FollowUpAction, s.action_id).status == ActionStatus.DONE
    # The other caseworker cannot touch it.
    client = login_as("sagsbehandler2")
    assert client.post(f"/opfoelgning/{s.action_id}/udfoert", data={"note": "x"}).status_code == 403
    assert "HEMMELIG-HANDLING" not in client.get("/opfoelgning/mine").get_data(as_text=True)


def test_leader_sees_acknowledgement_and_thread_and_approves(login_as, session, s):
    own = _release_of(session, s.reviews[0].id)
    release.acknowledge(session, s.org.users["sagsbehandler"], own.id)
    release.add_comment(session, s.org.users["sagsbehandler"], own.id, "Et spørgsmål")
    actions.mark_done(session, s.org.users["sagsbehandler"], s.action_id, "Gjort")
    session.commit()
    client = login_as("leder")
    html = client.get(f"/feedback/runder/{s.round.id}").get_data(as_text=True)
    assert s.items[0].case_ref in html and s.items[2].case_ref not in html  # Team B hidden
    html = client.get(f"/feedback/gennemgang/{s.reviews[0].id}").get_data(as_text=True)
    assert "Et spørgsmål" in html and "Kvitteret" in html
    assert client.get(f"/feedback/gennemgang/{s.reviews[2].id}").status_code == 403
    client.post(f"/feedback/{own.id}/kommentar", data={"body": "Svar fra lederen"})
    assert [c.body for c in own.comments][-1] == "Svar fra lederen"
    html = client.get("/opfoelgning/?status=done").get_data(as_text=True)
    assert "HEMMELIG-HANDLING" in html and "BBA-HANDLING" not in html
    client.post(f"/opfoelgning/{s.action_id}/godkend")
    assert session.get(FollowUpAction, s.action_id).status == ActionStatus.APPROVED


def test_create_action_refuses_bad_dates_with_a_message(login_as, session, s):
    client = login_as("leder")
    url = f"/feedback/gennemgang/{s.reviews[1].id}/opfoelgning"
    for due, message in (
        ("ikke-en-dato", "Fristen skal være en dato"),
        ((date.today() - timedelta(days=2)).isoformat(), "Fristen skal ligge efter i dag"),
        ((date.today() + timedelta(days=3 * 365)).isoformat(), "højst ligge et år frem"),
    ):
        response = client.post(
            url,
            data={"description": "Gør noget", "owner": "caseworker", "due_date": due},
            follow_redirects=True,
        )
        assert message in response.get_data(as_text=True)
    assert (
        session.scalar(select(FollowUpAction).where(FollowUpAction.review_id == s.reviews[1].id))
        is None
    )


@pytest.mark.parametrize("username", ["direktoer", "revisor"])
def test_director_and_auditor_get_no_case_level_text(login_as, session, s, username):
    client = login_as(username)
    secret_texts = ["HEMMELIG-HANDLING", "BBA-HANDLING", "Jobmålet mangler", "Samlet: god sag"]
    secret_texts += [item.case_ref for item in s.items]
    secret_texts += [s.org.cw_a1.name, s.org.cw_b1.name, "AAA", "BBA"]
    pages = ["/opfoelgning/overblik"] + (["/opfoelgning/register"] if username == "revisor" else [])
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "Team A" in html
        leaked = [t for t in secret_texts if t in html]
        assert leaked == [], (url, leaked)
    own = _release_of(session, s.reviews[0].id)
    for url in (
        "/min-feedback",
        f"/min-feedback/{own.id}",
        "/opfoelgning/mine",
        "/opfoelgning/",
        f"/feedback/runder/{s.round.id}",
        f"/feedback/gennemgang/{s.reviews[0].id}",
    ):
        assert client.get(url).status_code == 403, url


def test_auditor_register_shows_release_and_action_status(login_as, session, s):
    html = login_as("revisor").get("/opfoelgning/register").get_data(as_text=True)
    assert "Åben" in html and "JOBMAAL-01" in html and "2026-K3" in html


def test_director_counts_per_team(login_as, s):
    html = login_as("direktoer").get("/opfoelgning/overblik").get_data(as_text=True)
    assert "Team A" in html and "Team B" in html


def test_plan_settings_page(login_as, session, s):
    client = login_as("leder")
    url = f"/feedback/planer/{s.round.plan_id}"
    assert client.get(url).status_code == 200
    response = client.post(
        url, data={"involvement": "view", "followup_allowance": "99"}, follow_redirects=True
    )
    assert "fra 0 til 20" in response.get_data(as_text=True)
    client.post(url, data={"involvement": "view", "followup_allowance": "2"})
    from tilsyn.feedback.common import plan_setting

    session.expire_all()
    setting = plan_setting(session, s.round.plan_id)
    assert (setting.involvement, setting.followup_allowance) == ("view", 2)


def test_weekly_digest_preference(login_as, session, s):
    from tilsyn.feedback.models import NoticePreference

    client = login_as("sagsbehandler")
    client.post("/min-konto/beskeder", data={"weekly_digest": "y", "next": "/min-feedback"})
    pref = session.get(NoticePreference, s.org.users["sagsbehandler"].id)
    assert pref is not None and pref.weekly_digest
