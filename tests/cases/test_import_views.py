"""The import pages: upload -> preview -> confirm/abort, snapshot list and detail, access."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.cases.test_import_service import counts, csv_bytes, good_rows, row
from tilsyn.audit.models import AuditEvent
from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker, Unit


@pytest.fixture
def uploads(app, monkeypatch, tmp_path) -> Path:
    """Keep uploads of the tests out of the real instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path / "uploads"


def upload(client, content: bytes, name: str = "udtraek.csv", mapping: str = "standard"):
    return client.post(
        "/sagsudtraek/import",
        data={
            "file": (io.BytesIO(content), name),
            "mapping": mapping,
            "as_of": "2026-10-01",
        },
        content_type="multipart/form-data",
    )


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/sagsudtraek/import/([A-Za-z0-9_-]+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def unit_selects(html: str) -> dict[str, str]:
    """name -> preselected value of each unit_<n> select in the preview form."""
    out = {}
    for match in re.finditer(r'<select[^>]*name="(unit_\d+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', match.group(2)
        )
        out[match.group(1)] = (
            next(g for g in selected.groups() if g is not None) if selected else ""
        )
    return out


def single_selects_with_labels(html: str) -> list[str]:
    """The ids of the page's selects; fails on a multi-select (Ctrl-click) or a select
    without its own label."""
    tags = re.findall(r"<select[^>]*>", html)
    assert tags
    ids = []
    for tag in tags:
        assert "multiple" not in tag, tag
        found = re.search(r'\sid="([^"]+)"', tag)
        assert found, tag
        assert f'for="{found.group(1)}"' in html, tag
        ids.append(found.group(1))
    return ids


def test_upload_form_offers_mappings_and_today(login_as, uploads):
    client = login_as("admin")
    html = client.get("/sagsudtraek/import").get_data(as_text=True)
    assert 'value="standard" selected' in html or 'selected value="standard"' in html
    assert 'value="fasit"' in html
    assert 'type="file"' in html and 'name="as_of"' in html
    assert single_selects_with_labels(html) == ["mapping"]


def test_sample_through_the_ui(login_as, session, uploads, sample_export):
    client = login_as("admin")
    response = upload(client, sample_export.read_bytes(), name="sagsudtraek-eksempel.csv")
    token = token_of(response)
    assert (uploads / token / "upload.bin").is_file()
    cookie = client.get_cookie("session")
    assert cookie is None or len(cookie.value) < 1000  # no file content in the cookie
    assert counts(session) == (0, 0, 4, 2)  # nothing stored yet

    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "S-2025-000001" in html and "Ingen fejl fundet" in html
    assert "Ukendte sagsbehandlere (45)" in html
    selects = unit_selects(html)
    assert len(selects) == 45
    assert len(single_selects_with_labels(html)) == 45  # one single select per caseworker
    assert selects.values()
    assert all(value.startswith("n:") for value in selects.values())  # file teams, new units

    response = client.post(f"/sagsudtraek/import/{token}", data=selects)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    snapshot = session.scalar(select(Snapshot))
    assert response.headers["Location"].endswith(f"/sagsudtraek/{snapshot.id}")
    assert snapshot.row_count == 3000 and snapshot.imported_by_name == "admin"
    assert snapshot.source_filename == "sagsudtraek-eksempel.csv"
    cws = session.scalar(
        select(func.count(func.distinct(Case.caseworker_id))).where(Case.snapshot_id == snapshot.id)
    )
    teams = session.scalar(
        select(func.count(func.distinct(Case.unit_id))).where(Case.snapshot_id == snapshot.id)
    )
    assert (cws, teams) == (45, 5)
    assert not (uploads / token).exists()
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3.000" in detail and "Sygedagpenge Nord" in detail
    assert "S-2025-000001" not in detail  # aggregates only
    listing = client.get("/sagsudtraek/").get_data(as_text=True)
    assert "sagsudtraek-eksempel.csv" in listing
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"import_preview", "import"} <= actions


def test_known_caseworkers_need_no_choices(login_as, session, uploads):
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(8))))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Ukendte sagsbehandlere" not in html
    response = client.post(f"/sagsudtraek/import/{token}", data={})
    assert response.status_code == 302
    assert counts(session)[:2] == (1, 8)


def test_unknown_caseworker_needs_a_unit_or_abort(login_as, session, uploads):
    rows = good_rows(3)
    rows[0][1], rows[0][3] = "NYX", ""
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert unit_selects(html) == {"unit_0": ""}  # no team in the file: the user must choose
    before = counts(session)
    response = client.post(f"/sagsudtraek/import/{token}", data={"unit_0": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Vælg en enhed til sagsbehandleren" in html
    assert single_selects_with_labels(html) == ["unit_0"]
    select_tag = re.search(r'<select[^>]*name="unit_0"[^>]*>', html).group(0)
    assert 'aria-describedby="unit_0-error"' in select_tag and 'aria-invalid="true"' in select_tag
    error = re.search(r'id="unit_0-error">([^<]*)<', html)
    assert error and "Vælg en enhed til sagsbehandleren" in error.group(1)
    assert counts(session) == before
    unit_b = session.scalar(select(Unit).where(Unit.name == "Team B"))
    response = client.post(f"/sagsudtraek/import/{token}", data={"unit_0": f"u:{unit_b.id}"})
    assert response.status_code == 302
    nyx = session.scalar(select(Caseworker).where(Caseworker.initials == "NYX"))
    assert nyx.unit_id == unit_b.id


def test_errors_are_reported_and_nothing_can_be_confirmed(login_as, session, uploads):
    rows = good_rows(5)
    rows[1][5] = "32-13-2026"
    rows[3][10] = "Måske"
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Fejlrapport" in html and "2 fejl" in html
    assert "32-13-2026" in html and "Måske" in html
    assert "Indlæs sagsudtrækket" not in html  # no confirm button
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "import_refused"))
    assert refused is not None and refused.details["errors"] == 2
    # Even a forged confirmation stores nothing.
    before = counts(session)
    response = client.post(f"/sagsudtraek/import/{token}", data={})
    assert response.status_code == 200
    assert counts(session) == before
    response = client.post(f"/sagsudtraek/import/{token}/afbryd")
    assert response.status_code == 302
    assert not (uploads / token).exists()


def test_cpr_file_is_refused_without_echo(login_as, session, uploads):
    rows = good_rows(3)
    rows.append(row(ref="S-9", name="Borger 1503821234"))
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "CPR" in html and "Fejlrapport" in html
    assert "1503821234" not in html
    assert counts(session)[:2] == (0, 0)


def second_admin(session) -> str:  # type: ignore[no-untyped-def]
    factories.make_user(session, "admin2", "admin")
    session.commit()
    return "admin2"


def test_tokens_are_private_to_the_uploader(login_as, session, uploads):
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(2))))
    client = login_as(second_admin(session))
    assert client.get(f"/sagsudtraek/import/{token}").status_code == 404
    assert client.get("/sagsudtraek/import/not-a-token").status_code == 404
    client.post(f"/sagsudtraek/import/{token}/afbryd")
    assert (uploads / token).exists()  # someone else's abort does nothing


def test_missing_file_is_a_form_error(login_as, uploads):
    client = login_as("admin")
    response = client.post(
        "/sagsudtraek/import", data={"mapping": "standard", "as_of": "2026-10-01"}
    )
    assert response.status_code == 200
    assert "Vælg en fil" in response.get_data(as_text=True)


def test_director_and_auditor_see_aggregates_only(login_as, session, uploads):
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(8))))
    client.post(f"/sagsudtraek/import/{token}", data={})
    snapshot = session.scalar(select(Snapshot))
    for username in ("direktoer", "revisor"):
        client = login_as(username)
        listing = client.get("/sagsudtraek/")
        assert listing.status_code == 200
        assert "Indlæs nyt sagsudtræk" not in listing.get_data(as_text=True)
        detail = client.get(f"/sagsudtraek/{snapshot.id}").get_data(as_text=True)
        assert "Team A" in detail and "AAA" in detail  # counts per caseworker
        assert "S-0001" not in detail  # never case-level rows
        assert client.get("/sagsudtraek/import").status_code == 403
    assert login_as("sagsbehandler").get("/sagsudtraek/").status_code == 403


# --- Refused uploads, privacy, report (audit follow-up) ---------------------------------------


def test_refused_upload_is_deleted_at_once_and_its_report_kept(login_as, session, uploads):
    rows = good_rows(5)
    rows[1][5] = "32-13-2026"
    rows[2][1] = "NYX"  # an unknown caseworker too: listed, and counted as the CLI counts it
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    assert not (uploads / token / "upload.bin").exists()
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Fejlrapport: 2 fejl" in html
    assert "32-13-2026" in html and "Sagsbehandleren «NYX» findes ikke" in html
    assert "Ukendte sagsbehandlere (1)" in html and 'name="unit_0"' not in html
    assert "De første rækker, som de vil blive gemt" not in html
    assert "Indlæs sagsudtrækket" not in html
    assert "Rækker i filen" in html and "Gyldige rækker" in html
    response = client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Række;Kolonne;Værdi;Fejl"
    assert len(lines) == 3 and lines[1].startswith("3;Sagsstart;32-13-2026;")
    assert "import_error_report" in set(session.scalars(select(AuditEvent.action)))
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "import_refused"))
    assert refused.details["errors"] == 2
    client.post(f"/sagsudtraek/import/{token}/afbryd")
    assert not (uploads / token).exists()


def test_cpr_upload_leaves_no_file_and_no_cpr_on_disk(login_as, session, uploads):
    rows = good_rows(3)
    rows.append(row(ref="S-9", name="Borger 1503821234"))
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows), name="borger 150382-1234.csv"))
    assert not (uploads / token / "upload.bin").exists()
    on_disk = "".join(p.read_text(encoding="utf-8") for p in (uploads / token).iterdir())
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    csv_text = client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv").get_data(as_text=True)
    audit_text = repr([(e.summary, e.details) for e in session.scalars(select(AuditEvent)).all()])
    for text in (on_disk, html, csv_text, audit_text):
        assert "1503821234" not in text and "150382-1234" not in text
    assert "borger [cpr fjernet].csv" in html and "CPR" in csv_text


def test_long_error_lists_are_capped_on_the_page_but_not_in_the_report(login_as, uploads):
    rows = [row(ref=f"S-{i:05d}", scheme="Ukendt") for i in range(1200)]
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Fejlrapport: 1.200 fejl" in html
    assert html.count("Ukendt ordning") == 1000
    lines = client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv").get_data(as_text=True)
    assert len(lines.splitlines()) == 1201


def test_error_report_only_for_refused_uploads_of_the_user(login_as, session, uploads):
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(2))))
    assert client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv").status_code == 404
    bad = token_of(upload(client, csv_bytes([row(start="x")])))
    other = login_as(second_admin(session))
    assert other.get(f"/sagsudtraek/import/{bad}/fejlrapport.csv").status_code == 404


def test_preview_counts_rows_and_warns_about_a_file_seen_before(login_as, session, uploads):
    rows = good_rows(4)
    content = csv_bytes(rows).replace(b"\r\n", b"\r\n\r\n", 2)  # blank lines do not count
    client = login_as("admin")
    token = token_of(upload(client, content))
    client.post(f"/sagsudtraek/import/{token}", data={})
    snapshot = session.scalar(select(Snapshot))
    token = token_of(upload(client, content))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert f"Denne fil er allerede indlæst som sagsudtræk nr. {snapshot.id} den" in html
    assert "Indlæs sagsudtrækket" in html  # still allowed
    assert re.search(r"Rækker i filen</dt><dd[^>]*>4 ", html)


def test_stale_uploads_are_removed_when_a_preview_is_analysed(login_as, uploads):
    import os
    import time

    client = login_as("admin")
    old = token_of(upload(client, csv_bytes(good_rows(2))))
    token = token_of(upload(client, csv_bytes(good_rows(2))))
    stale = time.time() - 25 * 3600
    os.utime(uploads / old, (stale, stale))
    assert client.get(f"/sagsudtraek/import/{token}").status_code == 200
    assert not (uploads / old).exists()


def test_refusal_at_confirmation_deletes_the_file_and_offers_the_report(login_as, session, uploads):
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(3))))
    # The organisation changes between preview and confirmation: a caseworker is renamed.
    bba = session.scalar(select(Caseworker).where(Caseworker.initials == "BBA"))
    bba.initials = "BBX"
    session.commit()
    response = client.post(f"/sagsudtraek/import/{token}", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sagsbehandleren «BBA» findes ikke" in html
    assert not (uploads / token / "upload.bin").exists()
    assert f"/sagsudtraek/import/{token}/fejlrapport.csv" in html
    assert "BBA" in client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv").get_data(
        as_text=True
    )
