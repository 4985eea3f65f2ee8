"""Reading draw records: the list, a draw's page (row-scoped, audited) and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn import tabular
from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Snapshot
from tilsyn.org.models import Caseworker
from tilsyn.permissions import draw_item_filter
from tilsyn.sampling.design import _initials
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.sampling.verify import numpy_facts

# Reading draws (row-scoped, audited)
# --------------------------------------------------------------------------------------------


def snapshot_options(session: Session) -> list[tuple[int, str]]:
    """Snapshots to draw from, newest first, as (id, label in the current UI language)."""
    rows = session.scalars(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc()))
    return [
        (
            s.id,
            _(
                "%(date)s – %(file)s (%(n)s sager, nr. %(id)s)",
                date=f"{s.as_of:%d-%m-%Y}",
                file=s.source_filename,
                n=s.row_count,
                id=s.id,
            ),
        )
        for s in rows
    ]


def list_draws(session: Session) -> list[Draw]:
    """Draw records (metadata only), newest first."""
    return list(session.scalars(select(Draw).order_by(Draw.created_at.desc(), Draw.id.desc())))


def visible_items(session: Session, actor: User | None, draw: Draw) -> list[DrawItem]:
    return list(
        session.scalars(
            select(DrawItem)
            .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
            .where(DrawItem.draw_id == draw.id, draw_item_filter(actor))
            .order_by(Caseworker.initials, DrawItem.stratum, DrawItem.case_ref)
        )
    )


@dataclass(frozen=True)
class CaseworkerSample:
    initials: str
    name: str
    unit: str
    new: bool
    items: list[DrawItem]
    #: Cases of this caseworker excluded from the population (recorded draws only).
    excluded: int = 0
    #: Every case was to be excluded, so the full caseload was used instead.
    fallback: bool = False
    #: Why the caseworker got this number of cases (recorded draws with the reason only).
    size_reason: str = ""


@dataclass(frozen=True)
class DrawView:
    draw: Draw
    groups: list[CaseworkerSample]
    visible: int
    hidden: int
    #: Cases excluded from the population (None: not recorded, a draw from before the count).
    excluded: int | None = None
    #: Initials of the caseworkers kept whole because all their cases were to be excluded.
    fallback_initials: list[str] = field(default_factory=list)
    numpy_version: str | None = None
    bit_generator: str | None = None


def excluded_by_caseworker(draw: Draw) -> dict[int, int] | None:
    """Excluded cases per caseworker from the record (None for draws recorded before)."""
    recorded = draw.params.get("excluded_per_stratum")
    if recorded is None:
        return None
    out: dict[int, int] = {}
    for entry in recorded:
        cw_id = int(entry["caseworker_id"])
        out[cw_id] = out.get(cw_id, 0) + int(entry["cases"])
    return out


def draw_view(session: Session, actor: User | None, draw: Draw) -> DrawView:
    """The draw record and the sample per caseworker the actor may see (audited view)."""
    items = visible_items(session, actor, draw)
    new_ids = set(draw.params.get("new_caseworker_ids") or [])
    fallback_ids = [int(c) for c in draw.params.get("exclusion_fallback_caseworker_ids") or []]
    excluded = excluded_by_caseworker(draw)
    reasons = {
        int(e["caseworker_id"]): str(e["reason"]) for e in draw.params.get("caseworker_sizes") or []
    }
    groups: list[CaseworkerSample] = []
    for it in items:
        if not groups or groups[-1].initials != it.caseworker.initials:
            cw = it.caseworker
            groups.append(
                CaseworkerSample(
                    cw.initials,
                    cw.name,
                    cw.unit.name,
                    cw.id in new_ids,
                    [],
                    excluded=(excluded or {}).get(cw.id, 0),
                    fallback=cw.id in fallback_ids,
                    size_reason=reasons.get(cw.id, ""),
                )
            )
        groups[-1].items.append(it)
    initials = _initials(session)
    numpy_version, bit_generator = numpy_facts(draw)
    audit.record(
        session,
        actor,
        "view",
        "draw",
        draw.id,
        f"Viste {len(items)} af {draw.sample_size} udtrukne sager i stikprøve {draw.id}",
    )
    return DrawView(
        draw,
        groups,
        len(items),
        draw.sample_size - len(items),
        excluded=None if excluded is None else sum(excluded.values()),
        fallback_initials=sorted(initials.get(c, str(c)) for c in fallback_ids),
        numpy_version=numpy_version,
        bit_generator=bit_generator,
    )


CSV_COLUMNS = ("case_ref", "caseworker", "scheme", "stratum", "risk_score", "inclusion_probability")


#: Media type of :func:`export_csv`'s bytes.
CSV_MIMETYPE = tabular.CSV_MIMETYPE


def export_csv(session: Session, actor: User | None, draw: Draw) -> bytes:
    """The sample as a CSV file for Danish Excel, audited; the web download and
    ``tilsyn sample export`` both write exactly these bytes.

    UTF-8 with a byte-order mark (so Excel reads æøå), ``;`` separator, decimal comma, CRLF line
    ends. Columns: case_ref, caseworker, scheme, stratum, risk_score, inclusion_probability (full
    precision, so the numbers round-trip to the record exactly). Rows are the cases the actor
    may see, in caseworker order.
    """
    items = visible_items(session, actor, draw)
    data = tabular.csv_bytes(
        CSV_COLUMNS,
        (
            [
                it.case_ref,
                it.caseworker.initials,
                it.scheme,
                it.stratum,
                float(it.risk_score),
                float(it.inclusion_probability),
            ]
            for it in items
        ),
    )
    audit.record(
        session,
        actor,
        "export",
        "draw",
        draw.id,
        f"Eksporterede {len(items)} udtrukne sager fra stikprøve {draw.id} som CSV",
    )
    return data
