"""The brief: the one-file HTML story written after every release, read as its readers read it.

The shared company as `score_month` left it (tests/companies.py) has a release and its brief. The brief must
describe that release, be self-contained (nothing fetched when opened, so it can be mailed), hold no personal
data, draw every chart in Debian's Chromium, and say what it withholds when the company lacks the data.
Screenshot: the test's temporary folder; with UPDATE_SCREENSHOTS=1 also docs/images/brief.png (README).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb

from pipeline.contract import CONTRACTS
from pipeline.publish.brief import BRIEF, build_brief
from pipeline.publish.parquet import current_release
from tests.browser import REPO, chromium


def _brief(scheduled_month) -> tuple[Path, str]:
    path = scheduled_month["home"] / "bi" / BRIEF
    return path, path.read_text(encoding="utf-8")


def test_the_scheduled_run_writes_a_brief_of_its_release_that_needs_nothing_from_outside(scheduled_month):
    path, page = _brief(scheduled_month)
    release = current_release(scheduled_month["home"] / "bi")
    assert release is not None and release.release_id in page
    assert f"Data as of {release.manifest['data_as_of']}" in page
    for title in ("What the data says", "Accounts to act on", "What drives recommendation", "NPS, raw and adjusted"):
        assert f"<h2>{title}</h2>" in page
    # Self-contained: no script, stylesheet, image or font is fetched, and the policy forbids it.
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page
    assert path.stat().st_size < 400_000  # light enough to mail


def test_no_personal_value_reaches_the_brief(scheduled_month):
    _, page = _brief(scheduled_month)
    personal_values = " union all ".join(
        f'select cast("{name}" as varchar) as v from raw.{c.table}' for c in CONTRACTS for name in c.personal_columns
    )
    with duckdb.connect(str(scheduled_month["home"] / "warehouse.duckdb"), read_only=True) as conn:
        personal = {
            v for (v,) in conn.execute(f"select distinct v from ({personal_values}) where length(v) > 5").fetchall()
        }
    assert len(personal) > 100
    assert [value for value in personal if value in page] == []
    assert not re.search(r"[^@\s<>\"]+@[^@\s<>\"]+\.[a-z]{2,}", page)


def test_every_chart_draws_in_chromium_and_nothing_is_requested(scheduled_month, tmp_path):
    path, _ = _brief(scheduled_month)
    requested: list[str] = []
    with chromium((1100, 900)) as page:
        page.on("request", lambda request: requested.append(request.url))
        page.goto(path.as_uri())
        charts = page.evaluate(
            """() => Array.from(document.querySelectorAll('figure.chart svg')).map(svg => {
                const box = svg.getBoundingClientRect();
                return {width: box.width, height: box.height, marks: svg.querySelectorAll('path, rect').length};
            })"""
        )
        page.screenshot(path=str(tmp_path / "brief-full.png"), full_page=True)
        # The README shows the first screen and the driver chart: scrolled so that the chart is in view.
        page.locator("figure.chart").first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "brief.png"))
    assert len(charts) == 6
    assert all(c["width"] > 500 and c["height"] > 100 and c["marks"] >= 5 for c in charts), charts
    assert requested == [path.as_uri()]
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(tmp_path / "brief.png", REPO / "docs" / "images" / "brief.png")


def test_a_release_without_survey_data_gets_a_brief_saying_what_it_withholds(scheduled_month, tmp_path):
    release = current_release(scheduled_month["home"] / "bi")
    folder = tmp_path / "release"
    shutil.copytree(release.path, folder)
    for table in ("mart_driver_analysis", "mart_nps_summary", "mart_survey_coverage"):
        (folder / f"{table}.parquet").unlink()

    written = build_brief(folder, None, tmp_path / BRIEF)

    assert written.withheld == ["What drives recommendation", "NPS, raw and adjusted", "Whose voice we hear"]
    assert written.charts == 3
    page = written.path.read_text()
    assert page.count('class="withheld"') == 3
    assert "What the data says" not in page  # no headlines were given


def test_the_brief_tells_the_retention_contact_list_and_why_the_effect_waits(scheduled_month):
    # The shared company scores one month: a contact list (the holdout left off), no cohort past the horizon.
    _, page = _brief(scheduled_month)
    release = current_release(scheduled_month["home"] / "bi")
    assert release is not None
    with duckdb.connect() as conn:
        (listed, month), (effects,), (reason,) = (
            conn.execute(
                f"select count(*), strftime(min(cohort_month), '%Y-%m') "
                f"from read_parquet('{release.path / 'mart_retention_contacts.parquet'}')"
            ).fetchone(),
            conn.execute(
                f"select count(*) from read_parquet('{release.path / 'mart_retention_effect.parquet'}') "
                "where is_all_cohorts"
            ).fetchone(),
            conn.execute(
                f"select reason from read_parquet('{release.path / 'mart_analysis_status.parquet'}') "
                "where analysis = 'retention effect'"
            ).fetchone(),
        )
    assert "<h2>Retention contacts and their effect</h2>" in page
    assert listed > 0 and f"{listed} accounts are on the retention contact list of {month}" in page
    assert "a random holdout of the selected accounts is left off the list" in page
    assert effects == 0 and "The effect is not measured yet" in page
    assert str(reason).split(":")[0] in page
