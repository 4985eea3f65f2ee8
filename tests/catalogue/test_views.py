"""Catalogue browser and editor through the web."""

from __future__ import annotations

import re

from sqlalchemy import select

from tilsyn.catalogue.models import ControlPoint, Scale
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.catalogue.points import versions as versions_


def _first_point(session):
    return session.scalars(
        select(ControlPoint).where(ControlPoint.active.is_(True)).order_by(ControlPoint.code)
    ).first()


def test_browser_shows_themes_and_points_to_every_role(session, login_as):
    load_starter_catalogue(session, None)
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
    versions = versions_(session, point.code)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].comparable_to_id == point.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Præciseret ordlyd" in page


def test_bad_input_is_refused_without_storing(session, login_as):
    load_starter_catalogue(session, None)
    session.commit()
    point = _first_point(session)
    client = login_as("admin")
    before = len(versions_(session, point.code))
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
    assert len(versions_(session, point.code)) == before
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


def test_comparable_is_not_ticked_by_default_when_editing(session, login_as):
    load_starter_catalogue(session, None)
    session.commit()
    point = _first_point(session)
    page = login_as("leder").get(f"/kontrolpunkter/{point.id}/rediger").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="comparable"[^>]*>', page)
    assert checkbox is not None and "checked" not in checkbox.group(0)


def test_scale_editor_creates_a_scored_scale_and_the_browser_shows_scores(session, login_as):
    load_starter_catalogue(session, None)
    session.commit()
    assert login_as("revisor").get("/kontrolpunkter/skalaer/ny").status_code == 403
    client = login_as("leder")
    page = client.get("/kontrolpunkter/").get_data(as_text=True)
    assert "I høj grad (I orden, 3 point)" in page and "Ny svarskala" in page
    form = client.get("/kontrolpunkter/skalaer/ny").get_data(as_text=True)
    assert 'name="options-3-label"' in form  # four empty rows to start with
    rows = {
        "options-0-code": "1",
        "options-0-label": "Utilstrækkelig",
        "options-0-outcome": "not_in_order",
        "options-0-score": "1",
        "options-1-code": "2",
        "options-1-label": "Tilstrækkelig",
        "options-1-outcome": "in_order",
        "options-1-score": "2,5",
        "options-2-code": "ir",
        "options-2-label": "Ikke relevant",
        "options-2-outcome": "not_applicable",
        "options-2-score": "",
    }
    response = client.post(
        "/kontrolpunkter/skalaer/ny",
        data={**rows, "code": "vurdering", "name": "Vurdering", "options-1-score": ""},
    )
    assert response.status_code == 200
    assert "Svarmulighed 2 («Tilstrækkelig»)" in response.get_data(as_text=True)
    assert session.scalar(select(Scale).where(Scale.code == "vurdering")) is None
    response = client.post(
        "/kontrolpunkter/skalaer/ny", data={**rows, "code": "vurdering", "name": "Vurdering"}
    )
    assert response.status_code == 302
    scale = session.scalar(select(Scale).where(Scale.code == "vurdering"))
    assert [(o.code, o.score) for o in scale.options] == [("1", 1.0), ("2", 2.5), ("ir", None)]
    page = client.get("/kontrolpunkter/").get_data(as_text=True)
    assert "Tilstrækkelig (I orden, 2,5 point)" in page
    assert "Ikke relevant (Ikke relevant)" in page
    # A scale in use: the editor says so and offers a copy; changing a score is refused.
    used = session.scalar(select(Scale).where(Scale.code == "grad"))
    page = client.get(f"/kontrolpunkter/skalaer/{used.id}").get_data(as_text=True)
    assert "Skalaen bruges af" in page and f"kopi={used.id}" in page
    data = {"name": used.name}
    for i, o in enumerate(used.options):
        data |= {
            f"options-{i}-code": o.code,
            f"options-{i}-label": o.label,
            f"options-{i}-outcome": o.outcome,
            f"options-{i}-score": "9" if i == 0 else f"{o.score:g}",
        }
    response = client.post(f"/kontrolpunkter/skalaer/{used.id}", data=data)
    assert response.status_code == 200 and "kan derfor ikke ændres" in response.get_data(
        as_text=True
    )
    session.expire_all()
    assert used.options[0].score == 3.0
    copy = client.get(f"/kontrolpunkter/skalaer/ny?kopi={used.id}").get_data(as_text=True)
    assert f"Kopi af {used.name}" in copy and 'value="hoej"' in copy
