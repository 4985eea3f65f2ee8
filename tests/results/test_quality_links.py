"""Review quality and follow-up joined to the results: census shares beside the estimates,
calibration agreement per round, follow-up counts per team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories import Org, round_control_point_id
from tests.quality.test_calibration import _first, _second, site  # noqa: F401
from tests.quality.test_census import _review, _setup
from tilsyn.feedback.models import ActionStatus, FollowUpAction
from tilsyn.quality.calibration import assign_round, pairs, save_setting
from tilsyn.quality.census import round_census, round_census_cells
from tilsyn.results.estimates import CONTROL_POINT, THEME, Options
from tilsyn.results.exports import row_dict
from tilsyn.results.quality_links import calibration_lines, followup_counts
from tilsyn.results.services import clear_cache, period_rows, round_results
from tilsyn.stats.agreement import cohen_kappa, percent_agreement


def test_census_share_beside_the_estimate(session: Session, org: Org) -> None:
    clear_cache()
    rnd, codes, items = _setup(session, org)
    cp_id = round_control_point_id(rnd, "CV-01")
    ja, nej = (codes["ja"], "in_order"), (codes["nej"], "not_in_order")
    for item, chosen in zip(items[:4], (ja, ja, nej, nej), strict=True):
        _review(session, rnd, item, cp_id, chosen, chosen[0])

    # the cells split the census by unit and scheme and sum to the round's census
    cells = round_census_cells(session, rnd)
    assert set(cells) == {cp_id}
    (point,) = round_census(session, rnd)
    assert sum(a for _io, a in cells[cp_id].values()) == point.census_answered == 21
    assert sum(io for io, _a in cells[cp_id].values()) == point.census_in_order == 11
    assert {u for u, _s in cells[cp_id]} == {org.unit_a.id}  # team B is outside the frame

    rows = {(r.level, r.code): r for r in round_results(session, rnd.id, Options(min_n=1))}
    assert rows[(CONTROL_POINT, "CV-01")].census_share == pytest.approx(11 / 21, abs=1e-15)
    assert rows[(CONTROL_POINT, "JOBMAAL-02")].census_share is None  # no rule
    assert all(r.census_share is None for r in rows.values() if r.level == THEME)
    assert row_dict(rows[(CONTROL_POINT, "CV-01")])["census_share"] == pytest.approx(11 / 21)
    assert row_dict(rows[(CONTROL_POINT, "JOBMAAL-02")])["census_share"] is None

    # the period figures: the organisation and team A share it; a scheme the rule does not
    # apply to has none
    period = rnd.period_label  # type: ignore[attr-defined]
    by = period_rows(session, [period], Options(min_n=1))[period]
    cv = [r for r in by if r.level == CONTROL_POINT and r.code == "CV-01"]
    assert {r.unit_id for r in cv} == {None, org.unit_a.id}
    assert all(r.census_share == pytest.approx(11 / 21) for r in cv)
    flex = period_rows(session, [period], Options(scheme="fleksjob", min_n=1))[period]
    flex_cv = [r for r in flex if r.level == CONTROL_POINT and r.code == "CV-01"]
    assert flex_cv and all(r.census_share is None for r in flex_cv)
    clear_cache()


def test_calibration_line_per_round(session, site) -> None:  # noqa: F811
    s = site
    assert calibration_lines(session, [s.rnd.id]) == []  # calibration did not run
    save_setting(
        session, None, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = {c.draw_item_id: c for c in assign_round(session, None, s.rnd)}
    _first(session, s, s.a1, s.leder, "ja", "2")
    _first(session, s, s.a2, s.leder, "nej", "1")
    _first(session, s, s.b1, s.leder2, "ja", "3")
    _second(session, s, cases[s.a1.id], s.leder2, "ja", "1")
    _second(session, s, cases[s.a2.id], s.leder2, "nej", "1")
    _second(session, s, cases[s.b1.id], s.leder, "nej", "3")
    (line,) = calibration_lines(session, [s.rnd.id])
    assert (line.plan, line.pairs) == ("Hele organisationen", 6)
    assert line.percent == pytest.approx(4 / 6)
    ps = pairs(session, [s.rnd.id])
    a = [f"{p.control_point.id}:{p.first_option_id}" for p in ps]
    b = [f"{p.control_point.id}:{p.second_option_id}" for p in ps]
    cats = sorted(
        {f"{p.control_point.id}:{o.id}" for p in ps for o in p.control_point.scale.options}
    )
    kappa = cohen_kappa(a, b, categories=cats)
    assert percent_agreement(a, b).estimate == line.percent
    assert (line.kappa, line.kappa_low, line.kappa_high) == (
        kappa.estimate,
        kappa.ci_low,
        kappa.ci_high,
    )
    assert 0 < line.kappa < 1


def test_followup_counts_cover_the_rounds_period(session, site) -> None:  # noqa: F811
    s = site
    admin = s.org.users["admin"]
    start, end = s.rnd.period_start, s.rnd.period_end
    today = end
    action = dict(description="x", created_on=start, created_by_name="leder")
    for cw, due, status, closed in (
        (s.org.cw_a1, end + timedelta(days=5), ActionStatus.OPEN, None),  # open
        (s.org.cw_a1, start, ActionStatus.OPEN, None),  # open and overdue
        (s.org.cw_b1, start, ActionStatus.APPROVED, start),  # closed in the period
        (s.org.cw_b1, start, ActionStatus.APPROVED, start - timedelta(days=1)),  # before it
    ):
        session.add(
            FollowUpAction(
                caseworker_id=cw.id, due_date=due, status=status.value, closed_on=closed, **action
            )
        )
    session.flush()
    assert followup_counts(session, admin, [], today) == []
    got = {r.unit: r for r in followup_counts(session, admin, [s.rnd.id], today)}
    a, b = got[s.org.unit_a.name], got[s.org.unit_b.name]
    assert (a.open, a.overdue, a.closed_in_period) == (2, 1, 0)
    assert (b.open, b.overdue, b.closed_in_period) == (0, 0, 1)
    only = followup_counts(session, admin, [s.rnd.id], today, unit=s.org.unit_b.name)
    assert [r.unit for r in only] == [s.org.unit_b.name]


def test_report_has_the_calibration_line(app, session, site) -> None:  # noqa: F811
    from flask import render_template
    from flask_login import login_user

    from tilsyn.results import pages
    from tilsyn.results.report import build_report

    s = site
    save_setting(
        session, None, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = {c.draw_item_id: c for c in assign_round(session, None, s.rnd)}
    for item, leader, second in ((s.a1, s.leder, s.leder2), (s.b1, s.leder2, s.leder)):
        _first(session, s, item, leader, "ja", "2")
        _second(session, s, cases[item.id], second, "ja", "2")
    admin = s.org.users["admin"]
    with app.test_request_context("/"):
        login_user(admin)
        rep = build_report(session, s.rnd.period_label, None, Options(min_n=1), admin)
        html = render_template(
            "results/report.html", rep=rep, unit_label=pages.unit_label, label_of=pages.label_of
        )
    line = html[html.index('id="r-calibration"') :]
    assert "Hele organisationen" in line and "4 svarpar" in line and "100 %" in line
