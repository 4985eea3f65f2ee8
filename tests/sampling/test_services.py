"""Draws: allocation, reproducibility, verification, tampering, CSV export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select, text

from tests.factories import AS_OF, make_population, make_snapshot, tamper
from tilsyn.audit.models import AuditEvent
from tilsyn.risk.population import load_population, score_snapshot
from tilsyn.risk.versions import approved_version, ensure_default_model
from tilsyn.sampling import design as sampling_design
from tilsyn.sampling.design import (
    BIT_GENERATOR,
    DesignParams,
    SamplingError,
    _allocate_over_schemes,
    _select,
    generator,
)
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.models import Draw, DrawIsImmutable, DrawItem
from tilsyn.sampling.records import CSV_COLUMNS, export_csv
from tilsyn.sampling.verify import replay, verify
from tilsyn.stats import sampling as stats


@pytest.fixture
def population(session, org):
    """AAA 40 cases, AAB (new: employed 2026-09-01) 30, BBA 3, BBB 25; approved default model."""
    ensure_default_model(session, org.users["admin"])
    return make_population(
        session, [(org.cw_a1, 40), (org.cw_a2, 30), (org.cw_b1, 3), (org.cw_b2, 25)]
    )


def _per_caseworker(draw):
    return Counter(item.caseworker.initials for item in draw.items)


def test_every_caseworker_is_represented_new_get_m_and_caps_apply(session, org, population):
    params = DesignParams(per_caseworker=2, new_caseworker=4, new_months=6, lam=1.0)
    draw = draw_sample(session, org.users["leder"], population, params, seed=42, prior_findings={})
    assert _per_caseworker(draw) == {"AAA": 2, "AAB": 4, "BBA": 2, "BBB": 2}
    assert draw.sample_size == 10 and draw.population_size == 98
    assert draw.params["new_caseworker_ids"] == [org.cw_a2.id]
    # Capped at the caseload: BBA has 3 cases, asked for 5 -> all 3 with π = 1.
    big = draw_sample(
        session,
        None,
        population,
        DesignParams(per_caseworker=5, new_caseworker=5),
        seed=1,
        prior_findings={},
    )
    bba = [it for it in big.items if it.caseworker_id == org.cw_b1.id]
    assert len(bba) == 3 and all(it.inclusion_probability == 1.0 for it in bba)


def test_record_holds_everything_and_draw_is_audited(session, org, population):
    draw = draw_sample(
        session,
        org.users["admin"],
        population,
        DesignParams(),
        seed=123,
        note="Test",
        prior_findings={},
    )
    version = approved_version(session)
    assert draw.seed == "123" and draw.risk_model_version_id == version.id
    assert draw.snapshot_sha256 == population.sha256
    assert draw.algorithm == stats.ALGORITHM
    assert draw.algorithm_version == stats.ALGORITHM_VERSION
    assert DesignParams.from_dict(draw.params) == DesignParams()
    assert draw.created_by_name == "admin" and draw.purpose == "ad hoc"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "draw"))
    assert event.object_id == str(draw.id) and event.details["seed"] == "123"
    # The stored π and scores are those of the design at draw time.
    scored = score_snapshot(session, population, version, prior_findings={})
    score_of = dict(zip(scored.population.case_ids.tolist(), scored.scores.tolist(), strict=True))
    for it in draw.items:
        assert it.risk_score == score_of[it.case_id]
        assert 0 < it.inclusion_probability <= 1


def test_same_seed_same_cases_and_fresh_seed_is_recorded(session, org, population):
    a = draw_sample(session, None, population, DesignParams(), seed=2024, prior_findings={})
    b = draw_sample(session, None, population, DesignParams(), seed=2024, prior_findings={})
    assert [i.case_id for i in a.items] == [i.case_id for i in b.items]
    assert [i.inclusion_probability for i in a.items] == [i.inclusion_probability for i in b.items]
    c = draw_sample(session, None, population, DesignParams(), prior_findings={})
    assert int(c.seed) > 2**64  # 128-bit SeedSequence entropy, stored as text
    ids, pi = replay(session, c)
    assert ids == [i.case_id for i in c.items]
    np.testing.assert_array_equal(pi, [i.inclusion_probability for i in c.items])


def test_lambda_zero_gives_equal_pi_within_stratum(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(lam=0.0), seed=5, prior_findings={})
    by_cw: dict[int, list[float]] = {}
    for it in draw.items:
        by_cw.setdefault(it.caseworker_id, []).append(it.inclusion_probability)
    assert by_cw[org.cw_a1.id] == pytest.approx([2 / 40] * 2, abs=1e-12)
    assert by_cw[org.cw_a2.id] == pytest.approx([4 / 30] * 4, abs=1e-12)
    assert by_cw[org.cw_b2.id] == pytest.approx([2 / 25] * 2, abs=1e-12)


def test_risk_weighting_raises_pi_of_risky_cases(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(lam=2.0), seed=9, prior_findings={})
    version = approved_version(session)
    scored = score_snapshot(session, population, version, prior_findings={})
    mask = scored.population.caseworker_ids == org.cw_a1.id
    size = 1 + 2.0 * scored.scores[mask]
    expected = dict(
        zip(
            scored.population.case_ids[mask].tolist(),
            stats.inclusion_probabilities(size, 2).tolist(),
            strict=True,
        )
    )
    for it in draw.items:
        if it.caseworker_id == org.cw_a1.id:
            assert it.inclusion_probability == pytest.approx(expected[it.case_id], abs=1e-12)


def test_verify_passes_and_tampering_fails(session, org, population):
    draw = draw_sample(
        session, org.users["admin"], population, DesignParams(), seed=77, prior_findings={}
    )
    session.commit()
    result = verify(session, draw)
    assert result.ok and result.differences == []

    first = draw.items[0]
    tamper(
        session,
        "UPDATE draw_items SET inclusion_probability = :p WHERE id = :id",
        {"p": first.inclusion_probability + 1e-9, "id": first.id},
    )
    result = verify(session, draw)
    assert not result.ok
    assert any(first.case_ref in d and "π" in d for d in result.differences)


def test_verify_detects_swapped_case_and_changed_rows(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(), seed=78, prior_findings={})
    session.commit()
    chosen = {it.case_id for it in draw.items}
    other = session.scalar(
        text(
            "SELECT id FROM cases WHERE snapshot_id = :s AND id NOT IN ({}) LIMIT 1".format(
                ",".join(str(i) for i in chosen)
            )
        ),
        {"s": population.id},
    )
    tamper(
        session,
        "UPDATE draw_items SET case_id = :c WHERE id = :id",
        {"c": other, "id": draw.items[0].id},
    )
    result = verify(session, draw)
    assert not result.ok and any("andre sager" in d for d in result.differences)

    draw2 = draw_sample(session, None, population, DesignParams(), seed=79, prior_findings={})
    session.commit()
    session.execute(
        text("UPDATE cases SET conversations_12m = 99 WHERE snapshot_id = :s"),
        {"s": population.id},
    )
    session.commit()
    result = verify(session, draw2)
    assert not result.ok and any("ændret siden" in d for d in result.differences)


def test_draws_cannot_be_changed_through_the_orm(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(), seed=1, prior_findings={})
    session.commit()
    draw.items[0].inclusion_probability = 0.5
    with pytest.raises(DrawIsImmutable):
        session.flush()
    session.rollback()
    session.delete(draw)
    with pytest.raises(DrawIsImmutable):
        session.flush()
    session.rollback()


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())  # UTF-8 byte-order mark for Excel
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_export_matches_the_record(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(), seed=31, prior_findings={})
    body = export_csv(session, org.users["revisor"], draw)
    assert body.count(b"\r\n") == 1 + draw.sample_size
    rows = _csv_rows(body)
    assert list(rows[0]) == list(CSV_COLUMNS)
    stored = {it.case_ref: it for it in draw.items}
    assert {r["case_ref"] for r in rows} == set(stored)
    for r in rows:
        it = stored[r["case_ref"]]
        assert float(r["inclusion_probability"].replace(",", ".")) == it.inclusion_probability
        assert float(r["risk_score"].replace(",", ".")) == it.risk_score
        assert r["caseworker"] == it.caseworker.initials and r["scheme"] == it.scheme
    # A team leader gets only the caseworkers of their own units.
    leder_rows = _csv_rows(export_csv(session, org.users["leder"], draw))
    assert {r["caseworker"] for r in leder_rows} == {"AAA", "AAB"}
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.actor_name == "leder")
    )


def test_unit_restriction_and_exclusions(session, org, population):
    excluded = session.scalars(
        text("SELECT case_ref FROM cases WHERE caseworker_id = :c"), {"c": org.cw_b1.id}
    ).all()
    draw = draw_sample(
        session,
        None,
        population,
        DesignParams(),
        seed=3,
        unit_ids=[org.unit_b.id],
        exclude_case_refs=excluded[:2],
        purpose="round",
        prior_findings={},
    )
    assert _per_caseworker(draw) == {"BBA": 1, "BBB": 2}
    assert draw.population_size == 1 + 25
    assert verify(session, draw).ok


def test_by_scheme_splits_the_caseworkers_number_over_schemes(session, org):
    ensure_default_model(session, org.users["admin"])
    cases = [
        {"case_ref": f"A{i:02d}", "caseworker_id": org.cw_a1.id, "scheme": s}
        for i, s in enumerate(["sygedagpenge"] * 6 + ["fleksjob"] * 3 + ["kontanthjaelp"])
    ]
    cases += [
        {"case_ref": f"B{i:02d}", "caseworker_id": org.cw_b2.id, "scheme": "sygedagpenge"}
        for i in range(5)
    ]
    snapshot = make_snapshot(session, cases)
    draw = draw_sample(
        session,
        None,
        snapshot,
        DesignParams(per_caseworker=4, by_scheme=True),
        seed=8,
        prior_findings={},
    )
    per_stratum = Counter(it.stratum for it in draw.items)
    # AAA: 4 over 6/3/1 cases, at least one per scheme -> 2/1/1; BBB: one scheme -> 4.
    assert per_stratum == {
        "AAA / Sygedagpenge": 2,
        "AAA / Fleksjob": 1,
        "AAA / Kontanthjælp": 1,
        "BBB / Sygedagpenge": 4,
    }
    assert verify(session, draw).ok
    assert _allocate_over_schemes(2, [6, 3, 1]) == [1, 1, 1]
    assert _allocate_over_schemes(10, [6, 3, 1]) == [6, 3, 1]
    assert _allocate_over_schemes(6, [10, 10]) == [3, 3]


def test_refusals_are_danish_and_store_nothing(session, org):
    snapshot = make_snapshot(
        session, [{"caseworker_id": org.cw_a1.id, "start_date": AS_OF - timedelta(1)}]
    )
    with pytest.raises(SamplingError, match="ingen godkendt risikomodel"):
        draw_sample(session, None, snapshot, DesignParams(), prior_findings={})
    ensure_default_model(session, org.users["admin"])
    with pytest.raises(SamplingError, match="λ"):
        draw_sample(session, None, snapshot, DesignParams(lam=-1), prior_findings={})
    with pytest.raises(SamplingError, match="seed"):
        draw_sample(session, None, snapshot, DesignParams(), seed=-3, prior_findings={})
    with pytest.raises(SamplingError, match="enheder"):
        draw_sample(
            session, None, snapshot, DesignParams(), unit_ids=[org.unit_b.id], prior_findings={}
        )
    assert session.scalars(select(Draw)).all() == []
    assert session.scalars(select(DrawItem)).all() == []


def _refs_of(session, caseworker):
    return session.scalars(
        text("SELECT case_ref FROM cases WHERE caseworker_id = :c ORDER BY case_ref"),
        {"c": caseworker.id},
    ).all()


def test_exclusion_never_drops_a_caseworker_and_is_recorded(session, org, population):
    """BBA's 3 cases were all sampled recently: BBA keeps the full caseload, BBB loses 2."""
    bba, bbb = _refs_of(session, org.cw_b1), _refs_of(session, org.cw_b2)
    draw = draw_sample(
        session,
        None,
        population,
        DesignParams(),
        seed=3,
        exclude_case_refs=[*bba, *bbb[:2]],
        purpose="round",
        prior_findings={},
    )
    assert _per_caseworker(draw) == {"AAA": 2, "AAB": 4, "BBA": 2, "BBB": 2}
    assert draw.params["exclusion_fallback"] is True
    assert draw.params["exclusion_fallback_caseworker_ids"] == [org.cw_b1.id]
    assert draw.params["excluded_per_stratum"] == [
        {"caseworker_id": org.cw_b2.id, "scheme": None, "cases": 2}
    ]
    assert draw.population_size == 98 - 2
    # π of BBA's cases is relative to the full caseload of 3, BBB's to the 23 left
    for it in draw.items:
        assert it.case_ref not in bbb[:2]
    bba_items = [it for it in draw.items if it.caseworker_id == org.cw_b1.id]
    assert {it.case_ref for it in bba_items} <= set(bba)
    assert verify(session, draw).ok


def test_exclusion_counts_per_caseworker_and_scheme_stratum(session, org):
    ensure_default_model(session, org.users["admin"])
    cases = [
        {"case_ref": f"A{i:02d}", "caseworker_id": org.cw_a1.id, "scheme": s}
        for i, s in enumerate(["sygedagpenge"] * 4 + ["fleksjob"] * 2)
    ]
    cases += [{"case_ref": "B00", "caseworker_id": org.cw_b2.id, "scheme": "fleksjob"}]
    snapshot = make_snapshot(session, cases)
    draw = draw_sample(
        session,
        None,
        snapshot,
        DesignParams(per_caseworker=2, by_scheme=True),
        seed=2,
        exclude_case_refs=["A00", "A04", "A05", "B00"],
        prior_findings={},
    )
    # AAA's fleksjob cell is emptied (AAA keeps cases, so no fallback); BBB falls back.
    assert draw.params["excluded_per_stratum"] == [
        {"caseworker_id": org.cw_a1.id, "scheme": "fleksjob", "cases": 2},
        {"caseworker_id": org.cw_a1.id, "scheme": "sygedagpenge", "cases": 1},
    ]
    assert draw.params["exclusion_fallback_caseworker_ids"] == [org.cw_b2.id]
    assert Counter(it.stratum for it in draw.items) == {
        "AAA / Sygedagpenge": 2,
        "BBB / Fleksjob": 1,
    }
    assert verify(session, draw).ok


def test_draw_recorded_before_the_fallback_rule_replays_as_drawn(session, org, population):
    """Old records (no ``exclusion_fallback``) are replayed with plain exclusion."""
    bba = _refs_of(session, org.cw_b1)
    version = approved_version(session)
    new = draw_sample(
        session, None, population, DesignParams(), seed=8, exclude_case_refs=bba, prior_findings={}
    )
    recorded_later = {
        "exclusion_fallback",
        "excluded_per_stratum",
        "exclusion_fallback_caseworker_ids",
        "numpy_version",
        "bit_generator",
    }
    params = {k: v for k, v in new.params.items() if k not in recorded_later}
    pop = load_population(session, population, prior_findings={})
    sel = _select(
        pop, version, DesignParams.from_dict(params), None, bba, 8, exclusion_fallback=False
    )
    old = Draw(
        snapshot_id=population.id,
        snapshot_sha256=new.snapshot_sha256,
        population_sha256=new.population_sha256,
        risk_model_version_id=version.id,
        factors_sha256=new.factors_sha256,
        params=params,
        caseworker_facts=new.caseworker_facts,
        algorithm=new.algorithm,
        algorithm_version=new.algorithm_version,
        seed="8",
        created_by_name="system",
        sample_size=int(sel.selected.shape[0]),
        population_size=len(sel.population),
    )
    session.add(old)
    for order, (i, pi) in enumerate(zip(sel.selected.tolist(), sel.pi.tolist(), strict=True), 1):
        session.add(
            DrawItem(
                draw=old,
                case_id=int(sel.population.case_ids[i]),
                case_ref=str(sel.population.case_refs[i]),
                caseworker_id=int(sel.population.caseworker_ids[i]),
                scheme=str(sel.population.scheme[i]),
                stratum="x",
                risk_score=float(sel.scores[i]),
                inclusion_probability=float(pi),
                order=order,
            )
        )
    session.flush()
    assert org.cw_b1.id not in {it.caseworker_id for it in old.items}  # dropped, as drawn then
    result = verify(session, old)
    assert result.ok, result.differences
    assert result.numpy_recorded is None and result.bit_generator is None


def test_numpy_version_and_bit_generator_are_recorded(session, org, population, monkeypatch):
    draw = draw_sample(session, None, population, DesignParams(), seed=17, prior_findings={})
    assert draw.params["numpy_version"] == np.__version__
    assert draw.params["bit_generator"] == "PCG64" == BIT_GENERATOR
    # the recorded generator is numpy's default_rng stream
    np.testing.assert_array_equal(generator(17).random(5), np.random.default_rng(17).random(5))
    ok = verify(session, draw)
    assert ok.ok and ok.numpy_recorded == np.__version__ and ok.bit_generator == "PCG64"
    assert not ok.numpy_differs
    # A later NumPy whose stream differs: the replay selects other cases, and says why.
    monkeypatch.setattr(np, "__version__", "99.0.0")
    monkeypatch.setattr(sampling_design, "generator", lambda seed: np.random.default_rng(seed + 1))
    result = verify(session, draw)
    assert not result.ok and result.numpy_differs
    assert result.numpy_now == "99.0.0"
    assert f"NumPy {draw.params['numpy_version']}" in result.differences[-1]
    assert "NumPy 99.0.0" in result.differences[-1]


@pytest.mark.postgresql_only
def test_postgresql_refuses_raw_changes_to_draws(session, org, population):
    from sqlalchemy.exc import ProgrammingError

    draw = draw_sample(session, None, population, DesignParams(), seed=4, prior_findings={})
    session.commit()
    statements = [
        ("UPDATE draw_items SET inclusion_probability = 0.5 WHERE id = :id", draw.items[0].id),
        ("DELETE FROM draw_items WHERE id = :id", draw.items[0].id),
        ("UPDATE draws SET seed = '5' WHERE id = :id", draw.id),
        ("DELETE FROM draws WHERE id = :id", draw.id),
    ]
    for sql, row_id in statements:
        with pytest.raises(ProgrammingError, match="registreret stikprøve"):
            session.execute(text(sql), {"id": row_id})
        session.rollback()
    assert verify(session, draw).ok


def test_csv_export_neutralises_formulas_and_keeps_numbers(session, org, population):
    draw = draw_sample(session, None, population, DesignParams(), seed=31, prior_findings={})
    first, second = sorted(it.id for it in draw.items)[:2]
    tamper(session, "UPDATE draw_items SET case_ref = '=1+1' WHERE id = :i", {"i": first})
    tamper(session, "UPDATE draw_items SET case_ref = '@SUM(1)' WHERE id = :i", {"i": second})
    session.expire_all()
    rows = _csv_rows(export_csv(session, org.users["revisor"], draw))
    refs = {r["case_ref"] for r in rows}
    assert {"'=1+1", "'@SUM(1)"} <= refs and "=1+1" not in refs
    # Numbers are written as numbers (decimal comma), never prefixed.
    assert rows and all(not r["risk_score"].startswith("'") for r in rows)
    assert all(float(r["inclusion_probability"].replace(",", ".")) > 0 for r in rows)
