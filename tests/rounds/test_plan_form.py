"""The plan form in plain Danish: labels with help texts, decimal commas, checkboxes, errors tied
to their fields."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import setup_catalogue_and_model
from tilsyn.rounds.models import SupervisionPlan


def _form(org, themes) -> dict[str, object]:
    core = [t for t in themes.values() if t.is_core]
    return {
        "name": "Kvartal Team A",
        "unit_id": str(org.unit_a.id),
        "cadence": "quarterly",
        "per_caseworker": "2",
        "new_caseworker": "4",
        "new_months": "6",
        "lam": "0,5",
        "exclude_recent_rounds": "1",
        "rotation_mode": "sequence",
        "rotating_per_round": "0",
        "review_weeks": "6",
        "snapshot_max_age_days": "45",
        "active": "y",
        "schemes": ["sygedagpenge", "fleksjob"],
        **{f"theme_{t.id}": "core" for t in core},
    }


def _input(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag is not None, name
    return tag.group(0)


def test_plan_form_speaks_danish_with_help_texts_and_checkboxes(session, org, login_as):
    setup_catalogue_and_model(session, org)
    session.commit()
    page = login_as("leder").get("/tilsyn/planer/ny").get_data(as_text=True)
    for label in ("Sager pr. sagsbehandler", "Ekstra sager til nye medarbejdere", "Risikovægtning"):
        assert f">{label}</label>" in page, label
    for jargon in ("λ", "(r)", "(n)", "(m)"):
        assert jargon not in page, jargon
    # Each number field is described by its help text.
    for name in ("per_caseworker", "new_caseworker", "lam", "exclude_recent_rounds"):
        assert f'aria-describedby="{name}-help"' in _input(page, name)
        assert f'id="{name}-help"' in page
    assert 'value="1"' in _input(page, "lam")  # not "1.00"
    # Schemes are checkboxes (no Ctrl-click multi-select).
    assert "<select multiple" not in page and "multiple" not in page
    assert len(re.findall(r'type="checkbox" name="schemes"', page)) >= 4


def test_plan_form_takes_a_decimal_comma_and_shows_it_again(session, org, login_as):
    themes = setup_catalogue_and_model(session, org)
    session.commit()
    client = login_as("leder")
    response = client.post("/tilsyn/planer/ny", data=_form(org, themes))
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = session.scalars(
        select(SupervisionPlan).where(SupervisionPlan.name == "Kvartal Team A")
    ).one()
    assert plan.lam == 0.5
    assert sorted(plan.schemes) == ["fleksjob", "sygedagpenge"]
    page = client.get(f"/tilsyn/planer/{plan.id}").get_data(as_text=True)
    assert 'value="0,5"' in _input(page, "lam")
    assert re.search(r'name="schemes"[^>]*value="fleksjob" checked', page)
    assert not re.search(r'name="schemes"[^>]*value="kontanthjaelp" checked', page)


def test_plan_form_errors_are_tied_to_their_fields(session, org, login_as):
    themes = setup_catalogue_and_model(session, org)
    session.commit()
    response = login_as("leder").post(
        "/tilsyn/planer/ny", data={**_form(org, themes), "per_caseworker": "0", "lam": "x"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("per_caseworker", "lam"):
        tag = _input(page, name)
        assert 'aria-invalid="true"' in tag
        assert f"{name}-error" in re.search(r'aria-describedby="([^"]+)"', tag).group(1)
        assert f'id="{name}-error"' in page
    assert 'aria-invalid="true"' not in _input(page, "new_caseworker")
