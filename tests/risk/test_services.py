"""Risk model versions, approval and scoring of a snapshot's cases."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from tests.factories import AS_OF, make_population, make_snapshot
from tilsyn.audit.models import AuditEvent
from tilsyn.risk import rules
from tilsyn.risk.case_risk import CaseAccessDenied, case_risk
from tilsyn.risk.effect import effect_on_snapshot
from tilsyn.risk.models import ApprovedRiskModelIsFrozen, RiskModelStatus
from tilsyn.risk.population import load_population, score_snapshot
from tilsyn.risk.versions import (
    RiskError,
    approve,
    approved_version,
    create_version,
    ensure_default_model,
    list_versions,
    save_edit,
)


def _factor(**overrides):
    d = {
        "code": "LANG",
        "label": "Lang sag",
        "attribute": "weeks_open",
        "operator": ">",
        "value": 26,
        "weight": 1.0,
        "rationale": "Fordi.",
    }
    d.update(overrides)
    return d


def test_default_model_is_created_once_and_approved_in_the_actors_name(session, org):
    admin = org.users["admin"]
    v1 = ensure_default_model(session, admin, today=date(2026, 1, 5))
    assert (v1.number, v1.status, v1.approved_on) == (1, RiskModelStatus.APPROVED, date(2026, 1, 5))
    assert "admin" in v1.approved_by_name and v1.approved_by_id == admin.id
    assert "Standardmodellen" in v1.approval_note
    _name, default_factors = rules.load_default_model()
    assert [f["code"] for f in v1.factors] == [f.code for f in default_factors]
    assert ensure_default_model(session, admin) is v1
    assert approved_version(session) is v1
    assert len(list_versions(session)) == 1


def test_editing_makes_a_draft_and_approval_supersedes(session, org):
    admin, leder = org.users["admin"], org.users["leder"]
    v1 = ensure_default_model(session, admin)
    factors = [*v1.factors[:3], _factor()]
    v2 = save_edit(session, leder, v1, factors, "Kommunens model", "Egen")
    assert (v2.number, v2.status, v2.based_on_id) == (2, RiskModelStatus.DRAFT, v1.id)
    assert approved_version(session) is v1  # drafts are not used
    # Editing the draft again changes it in place.
    same = save_edit(session, leder, v2, factors[:2], "Kommunens model 2", "")
    assert same is v2 and len(v2.factors) == 2
    approve(session, leder, v2, date(2026, 2, 1), "Gennemgået på teammøde")
    assert v2.status == RiskModelStatus.APPROVED and v1.status == RiskModelStatus.SUPERSEDED
    assert v2.approved_by_name == "Leder (leder)" and v2.approved_on == date(2026, 2, 1)
    assert approved_version(session) is v2
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "risk_model_version")
    ).all()
    assert actions.count("approve") == 2 and "update" in actions


def test_approved_version_content_is_frozen(session, org):
    v1 = ensure_default_model(session, org.users["admin"])
    session.commit()
    v1.factors = [_factor()]
    with pytest.raises(ApprovedRiskModelIsFrozen):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    ("factors", "fragment"),
    [
        ([_factor(attribute="shoe_size")], "Ukendt attribut"),
        ([_factor(rationale="")], "Begrundelsen"),
        ([_factor(weight=-1)], "Vægten"),
        ([_factor(), _factor()], "Koden er brugt af flere"),
        ([], "mindst én faktor"),
        ([{"code": "X"}], "kan ikke læses"),
    ],
)
def test_invalid_factors_are_refused_in_danish_and_nothing_is_stored(
    session, org, factors, fragment
):
    with pytest.raises(RiskError) as info:
        create_version(session, org.users["admin"], None, factors, "Model")
    assert any(fragment in p for p in info.value.problems)
    assert list_versions(session) == []


def test_only_leaders_approve_drafts_on_past_dates(session, org):
    v = create_version(session, org.users["admin"], None, [_factor()], "Model")
    with pytest.raises(RiskError, match="teamleder eller administrator"):
        approve(session, org.users["revisor"], v, date(2026, 1, 1))
    with pytest.raises(RiskError, match="fremtiden"):
        approve(session, org.users["admin"], v, date(2026, 1, 2), today=date(2026, 1, 1))
    with pytest.raises(RiskError, match="datoen"):
        approve(session, org.users["admin"], v, None)
    approve(session, org.users["admin"], v, date(2026, 1, 1))
    with pytest.raises(RiskError, match="ikke en kladde"):
        approve(session, org.users["admin"], v, date(2026, 1, 1))


def test_derived_attributes_match_hand_computed_values(session, org):
    # AAB started 2026-09-01; as_of 2026-12-01 -> 91 days -> 91/30.4375 months.
    cases = [
        {
            "case_ref": "K1",
            "caseworker_id": org.cw_a2.id,
            "scheme": "sygedagpenge",
            "start_date": AS_OF - timedelta(days=200),
            "last_conversation": AS_OF - timedelta(days=95),
            "conversations_12m": 3,
            "reassessment_due": AS_OF + timedelta(days=30),
            "caseworker_changes_12m": 2,
            "job_goal": False,
            "cv_on_jobnet": True,
        },
        {
            "case_ref": "K2",
            "caseworker_id": org.cw_a2.id,
            "scheme": "fleksjob",
            "start_date": AS_OF - timedelta(days=7),
            "reassessment_due": AS_OF - timedelta(days=10),
        },
        {"case_ref": "K3", "caseworker_id": org.cw_a1.id, "scheme": "kontanthjaelp"},
    ]
    snapshot = make_snapshot(session, cases)
    pop = load_population(session, snapshot, prior_findings={})
    case_ids, cw_ids, scheme, attrs = pop.case_ids, pop.caseworker_ids, pop.scheme, pop.attributes
    assert cw_ids.tolist() == [org.cw_a2.id, org.cw_a2.id, org.cw_a1.id]
    assert scheme.tolist() == ["sygedagpenge", "fleksjob", "kontanthjaelp"]
    np.testing.assert_allclose(attrs["weeks_open"], [200 / 7, 1.0, 100 / 7])
    np.testing.assert_array_equal(attrs["days_since_conversation"], [95, np.nan, np.nan])
    np.testing.assert_array_equal(attrs["days_to_reassessment"], [30, -10, np.nan])
    np.testing.assert_array_equal(attrs["conversations_12m"], [3, np.nan, np.nan])
    np.testing.assert_array_equal(attrs["caseworker_changes_12m"], [2, np.nan, np.nan])
    np.testing.assert_array_equal(attrs["job_goal"], [0, np.nan, np.nan])
    np.testing.assert_array_equal(attrs["cv_on_jobnet"], [1, np.nan, np.nan])
    aaa_months = (AS_OF - date(2020, 1, 1)).days / 30.4375
    np.testing.assert_allclose(
        attrs["caseworker_tenure_months"], [91 / 30.4375, 91 / 30.4375, aaa_months]
    )
    np.testing.assert_array_equal(attrs["caseworker_caseload"], [2, 2, 1])
    assert np.isnan(attrs["prior_findings"]).all()

    # Restricting the rows keeps caseloads of the whole snapshot.
    only_pop = load_population(session, snapshot, [int(case_ids[0])], prior_findings={})
    assert only_pop.case_ids.tolist() == [int(case_ids[0])]
    assert only_pop.attributes["caseworker_caseload"].tolist() == [2.0]

    # Scores under the default model, by hand:
    # K1 sygedagpenge: >26 weeks (1.5) + no conversation >90 days (1.5) + 2 changes (1.0)
    #    + new caseworker (0.5) = 4.5.  K2 fleksjob: deadline passed (2.0) + new (0.5) = 2.5.
    # K3: nothing known -> 0.
    version = ensure_default_model(session, org.users["admin"])
    scored = score_snapshot(session, snapshot, version, prior_findings={})
    np.testing.assert_allclose(scored.scores, [4.5, 2.5, 0.0])
    assert set(scored.fired_codes(0)) == {
        "SDP_OVER_26_UGER",
        "INGEN_SAMTALE_90_DAGE",
        "SAGSBEHANDLERSKIFT",
        "NY_SAGSBEHANDLER",
    }
    assert set(scored.fired_codes(1)) == {"REVURDERING_FRIST", "NY_SAGSBEHANDLER"}


def test_unknown_employment_start_gives_nan_tenure(session, org):
    org.cw_b1.employment_start = None
    session.flush()
    snapshot = make_snapshot(session, [{"caseworker_id": org.cw_b1.id}])
    attrs = load_population(session, snapshot, prior_findings={}).attributes
    assert math.isnan(attrs["caseworker_tenure_months"][0])


def test_three_thousand_cases_are_scored_consistently(session, org):
    """A realistic snapshot size; speed is measured in make bench, not asserted here."""
    snapshot = make_population(
        session, [(org.cw_a1, 800), (org.cw_a2, 700), (org.cw_b1, 800), (org.cw_b2, 700)]
    )
    version = ensure_default_model(session, org.users["admin"])
    scored = score_snapshot(session, snapshot, version, prior_findings={})
    assert scored.scores.shape == (3000,) and scored.fired.shape == (3000, len(version.factors))
    weights = np.array([f["weight"] for f in version.factors])
    np.testing.assert_allclose(scored.scores, scored.fired.astype(float) @ weights, atol=1e-12)


def test_effect_on_snapshot_aggregates(session, org):
    snapshot = make_population(session, [(org.cw_a1, 30), (org.cw_b1, 20)])
    version = ensure_default_model(session, org.users["admin"])
    effect = effect_on_snapshot(session, snapshot, version, prior_findings={})
    scored = score_snapshot(session, snapshot, version, prior_findings={})
    assert effect.cases == 50
    assert sum(b.cases for b in effect.bins) == 50
    assert effect.mean == pytest.approx(scored.scores.mean())
    assert dict(effect.quantiles)["Maksimum"] == pytest.approx(scored.scores.max())
    by_code = {f.code: f for f in effect.factors}
    j = scored.factor_codes.index("SAGSBEHANDLERSKIFT")
    assert by_code["SAGSBEHANDLERSKIFT"].cases == int(scored.fired[:, j].sum())
    assert {t.unit: t.cases for t in effect.teams} == {"Team A": 30, "Team B": 20}


def test_effect_gives_each_factors_share_per_team(session, org):
    snapshot = make_population(session, [(org.cw_a1, 30), (org.cw_a2, 10), (org.cw_b1, 20)])
    version = ensure_default_model(session, org.users["admin"])
    effect = effect_on_snapshot(session, snapshot, version, prior_findings={})
    scored = score_snapshot(session, snapshot, version, prior_findings={})
    team_a = np.isin(scored.population.caseworker_ids, [org.cw_a1.id, org.cw_a2.id])
    by_unit = {t.unit: t for t in effect.teams}
    for j, code in enumerate(scored.factor_codes):
        fired = scored.fired[:, j]
        assert by_unit["Team A"].factor_shares[j] == pytest.approx(fired[team_a].sum() / 40)
        assert by_unit["Team B"].factor_shares[j] == pytest.approx(fired[~team_a].sum() / 20)
        row = effect.factor_team_rows[j]
        assert row.code == code and row.share == pytest.approx(fired.mean())
        assert row.team_shares == [t.factor_shares[j] for t in effect.teams]
    # at least one factor differs between the teams, so the table says something
    assert any(len(set(r.team_shares)) > 1 for r in effect.factor_team_rows)


def test_case_risk_is_row_scoped_and_audited(session, org):
    snapshot = make_snapshot(
        session,
        [{"case_ref": "X1", "caseworker_id": org.cw_a1.id, "start_date": AS_OF - timedelta(400)}],
    )
    ensure_default_model(session, org.users["admin"])
    case = snapshot_case(session, snapshot)
    result = case_risk(session, org.users["sagsbehandler"], case, prior_findings={})
    assert result.score == 1.5
    assert [f.code for f in result.factors if f.fired] == ["SDP_OVER_26_UGER"]
    with pytest.raises(CaseAccessDenied):
        case_risk(session, org.users["sagsbehandler2"], case, prior_findings={})
    assert (
        session.scalar(select(AuditEvent).where(AuditEvent.object_type == "case_risk")).actor_name
        == "sagsbehandler"
    )


def snapshot_case(session, snapshot):
    from tilsyn.cases.models import Case

    return session.scalar(select(Case).where(Case.snapshot_id == snapshot.id))
