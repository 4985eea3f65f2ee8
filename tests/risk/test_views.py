"""Risikovurdering pages: printable assessment, versions, editor, approval, case risk."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import AS_OF, make_population, make_snapshot
from tilsyn.audit.models import AuditEvent
from tilsyn.cases.models import Case
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.risk.effect import effect_on_snapshot
from tilsyn.risk.models import RiskModelStatus, RiskModelVersion
from tilsyn.risk.versions import approved_version, ensure_default_model, list_versions


def test_leader_takes_default_model_into_use(session, login_as):
    client = login_as("admin")
    page = client.get("/risiko/").get_data(as_text=True)
    assert "ingen godkendt risikomodel" in page and "Tag standardmodellen i brug" in page
    response = client.post("/risiko/standardmodel")
    assert response.status_code == 302
    version = approved_version(session)
    assert version.number == 1 and version.approved_by_name.endswith("(admin)")


def test_assessment_renders_for_revisor_with_effect_and_history(session, org, login_as):
    ensure_default_model(session, org.users["admin"], today=date(2026, 3, 2))
    make_population(session, [(org.cw_a1, 20), (org.cw_b1, 10)])
    session.commit()
    response = login_as("revisor").get("/risiko/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "Sygedagpengesag åben i over 26 uger",  # factor label
        "Hedensted",  # rationale
        "Sagens varighed er over 26 uger",  # rule in words (a Danish sentence)
        "02-03-2026",  # approval date
        "Fordeling af risikoscoren",
        "Team A",
        "Versionshistorik",
        "Andel af sagerne, hver faktor rammer, pr. team",
        "Alle teams",
        "data-print",
        "print.js",
    ):
        assert text in page, text
    table = page.split("hver faktor rammer, pr. team", 1)[1].split("</table>", 1)[0]
    effect = effect_on_snapshot(
        session, latest_snapshot(session), approved_version(session), prior_findings={}
    )
    assert "Team A" in table and "Team B" in table
    assert table.count("<tr>") == 1 + len(effect.factors) + 1  # header, factors, case counts
    assert "Tag standardmodellen i brug" not in page
    assert login_as("direktoer").get("/risiko/").status_code == 200
    assert login_as("sagsbehandler").get("/risiko/").status_code == 403


def test_edit_creates_draft_then_approve(session, org, login_as):
    v1 = ensure_default_model(session, org.users["admin"])
    session.commit()
    client = login_as("leder")
    form = client.get(f"/risiko/versioner/{v1.id}/rediger").get_data(as_text=True)
    assert 'value="SDP_OVER_26_UGER"' in form
    data = {"name": "Kommunens model", "description": "Tilpasset"}
    # Keep only the first factor (changed weight, Danish decimal comma) and add a new one.
    first = v1.factors[0]
    data.update(
        {
            "factors-0-code": first["code"],
            "factors-0-label": first["label"],
            "factors-0-attribute": first["attribute"],
            "factors-0-operator": first["operator"],
            "factors-0-value": "26",
            "factors-0-schemes": first["schemes"],
            "factors-0-weight": "2,5",
            "factors-0-rationale": first["rationale"],
            "factors-0-when-0-attribute": "",
            "factors-1-code": "UKENDT_SAMTALE",
            "factors-1-label": "Ingen samtale registreret",
            "factors-1-attribute": "days_since_conversation",
            "factors-1-operator": "missing",
            "factors-1-weight": "1",
            "factors-1-rationale": "Manglende registrering.",
            "factors-1-when-0-attribute": "weeks_open",
            "factors-1-when-0-operator": ">=",
            "factors-1-when-0-value": "4",
            "factors-2-code": "FJERNES",
            "factors-2-label": "Fjernes",
            "factors-2-attribute": "weeks_open",
            "factors-2-operator": ">",
            "factors-2-value": "1",
            "factors-2-weight": "1",
            "factors-2-rationale": "x",
            "factors-2-remove": "y",
        }
    )
    response = client.post(f"/risiko/versioner/{v1.id}/rediger", data=data)
    assert response.status_code == 302
    v2 = session.scalar(select(RiskModelVersion).where(RiskModelVersion.number == 2))
    assert v2.status == RiskModelStatus.DRAFT and v2.based_on_id == v1.id
    assert [f["code"] for f in v2.factors] == ["SDP_OVER_26_UGER", "UKENDT_SAMTALE"]
    assert v2.factors[0]["weight"] == 2.5
    assert v2.factors[1]["when"] == [{"attribute": "weeks_open", "operator": ">=", "value": 4.0}]

    response = client.post(
        f"/risiko/versioner/{v2.id}/godkend",
        data={"on_date": "2026-02-01", "note": "Teammøde"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert v2.status == RiskModelStatus.APPROVED and approved_version(session).id == v2.id
    assert "Version 1" in client.get("/risiko/versioner").get_data(as_text=True)


def test_invalid_edit_shows_danish_errors_and_stores_nothing(session, org, login_as):
    v1 = ensure_default_model(session, org.users["admin"])
    session.commit()
    client = login_as("admin")
    response = client.post(
        f"/risiko/versioner/{v1.id}/rediger",
        data={
            "name": "Dårlig",
            "factors-0-code": "X",
            "factors-0-label": "X",
            "factors-0-attribute": "weeks_open",
            "factors-0-operator": ">",
            "factors-0-value": "mange",
            "factors-0-weight": "1",
            "factors-0-rationale": "",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ikke et tal" in page
    response = client.post(
        f"/risiko/versioner/{v1.id}/rediger",
        data={
            "name": "Dårlig",
            "factors-0-code": "X",
            "factors-0-label": "X",
            "factors-0-attribute": "weeks_open",
            "factors-0-operator": ">",
            "factors-0-value": "3",
            "factors-0-weight": "1",
            "factors-0-rationale": "",
        },
    )
    assert "Begrundelsen skal udfyldes" in response.get_data(as_text=True)
    assert len(list_versions(session)) == 1


def test_add_factor_button_adds_a_blank_row_without_saving(session, org, login_as):
    v1 = ensure_default_model(session, org.users["admin"])
    session.commit()
    client = login_as("admin")
    response = client.post(
        f"/risiko/versioner/{v1.id}/rediger",
        data={"name": "M", "factors-0-code": "A", "add_factor": "1"},
    )
    assert 'name="factors-1-code"' in response.get_data(as_text=True)
    assert len(list_versions(session)) == 1


def test_case_risk_page_is_row_scoped_and_audited(session, org, login_as):
    ensure_default_model(session, org.users["admin"])
    snapshot = make_snapshot(
        session,
        [
            {
                "case_ref": "R1",
                "caseworker_id": org.cw_a1.id,
                "start_date": AS_OF - timedelta(days=300),
            }
        ],
    )
    session.commit()
    case_id = session.scalar(select(Case.id).where(Case.snapshot_id == snapshot.id))
    assert login_as("sagsbehandler2").get(f"/risiko/sag/{case_id}").status_code == 403
    response = login_as("sagsbehandler").get(f"/risiko/sag/{case_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "R1" in page and "Sygedagpengesag åben i over 26 uger" in page
    assert login_as("leder").get(f"/risiko/sag/{case_id}").status_code == 200
    assert login_as("revisor").get(f"/risiko/sag/{case_id}").status_code == 403
    viewers = session.scalars(
        select(AuditEvent.actor_name).where(AuditEvent.object_type == "case_risk")
    ).all()
    assert sorted(viewers) == ["leder", "sagsbehandler"]
