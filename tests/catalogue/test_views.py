"""Catalogue browser and editor through the web."""

from __future__ import annotations

from sqlalchemy import select

from tilsyn.catalogue import services
from tilsyn.catalogue.models import ControlPoint


def _first_point(session):
    return session.scalars(
        select(ControlPoint).where(ControlPoint.active.is_(True)).order_by(ControlPoint.code)
    ).first()


def test_browser_shows_themes_and_points_to_every_role(session, login_as):
    services.load_starter_catalogue(session, None)
    session.commit()
    point = _first_point(session)
    for user in ("sagsbehandler", "revisor", "leder"):
        client = login_as(user)
        page = client.get("/kontrolpunkter/").get_data(as_text=True)
        assert point.code in page and point.theme.name in page
        assert client.get(f"/kontrolpunkter/{point.id}").status_code == 200
    assert "Nyt kontrolpunkt" in login_as("leder").get("/kontrolpunkter/").get_data(as_text=True)
    assert "Nyt kontrolpunkt" not in login_as("revisor").get("/kontrolpunkter/").get_data(
        as_text=True
    )


def test_load_button_and_edit_makes_comparable_version(session, login_as):
    client = login_as("leder")
    response = client.post("/kontrolpunkter/indlaes-startkatalog")
    assert response.status_code == 302
    point = _first_point(session)
    page = client.get(f"/kontrolpunkter/{point.id}/rediger")
    assert page.status_code == 200 and "Sammenlignelig" in page.get_data(as_text=True)
    response = client.post(
        f"/kontrolpunkter/{point.id}/rediger",
        data={
            "theme_id": point.theme_id,
            "scale_id": point.scale_id,
            "question": point.question + " Præciseret.",
            "help_text": point.help_text,
            "legal_reference": point.legal_reference or "",
            "schemes": list(point.schemes),
            "active": "y",
            "comparable": "y",
            "change_note": "Præciseret ordlyd",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    versions = services.versions(session, point.code)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].comparable_to_id == point.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Præciseret ordlyd" in page


def test_bad_input_is_refused_without_storing(session, login_as):
    services.load_starter_catalogue(session, None)
    session.commit()
    point = _first_point(session)
    client = login_as("admin")
    before = len(services.versions(session, point.code))
    response = client.post(
        f"/kontrolpunkter/{point.id}/rediger",
        data={
            "theme_id": point.theme_id,
            "scale_id": point.scale_id,
            "question": "Et nyt spørgsmål",
            "active": "y",
            "change_note": "",
        },
    )
    assert response.status_code == 200
    assert "Beskriv ændringen" in response.get_data(as_text=True)
    session.expire_all()
    assert len(services.versions(session, point.code)) == before
    response = client.post(
        "/kontrolpunkter/ny",
        data={
            "code": point.code,
            "theme_id": point.theme_id,
            "scale_id": point.scale_id,
            "question": "Q?",
        },
    )
    assert response.status_code == 200 and "allerede brugt" in response.get_data(as_text=True)
