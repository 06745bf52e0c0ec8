"""The brief: one self-contained HTML file with the release's story, for people without Power BI.

Written beside the releases as ``<bi>/brief.html`` after every release (a stable path to bookmark or
mail), from the published Parquet files only, so it shows exactly what BI shows and never more (no
personal data: the release has none). Charts are inline SVG drawn by matplotlib (text kept as text, so the
file stays small and searchable); no script, font or image is fetched when it is opened.

A section whose data the company lacks (no survey tool, no model yet) says so, with the reason
``mart_analysis_status`` gives, instead of an empty chart.
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

BRIEF = "brief.html"
# Colours of the driver classes (insight/drivers.py) and the page's palette.
CLASS_COLOURS = {
    "hygiene": "#c0392b",
    "differentiator": "#27ae60",
    "performance": "#2c7fb8",
    "weak": "#95a5a6",
}
INK, MUTED, ACCENT, RAW = "#1f2933", "#7b8794", "#2c7fb8", "#b0b8c1"
ACCOUNTS_TO_ACT_ON = 10


@dataclass
class Section:
    title: str
    body: str  # HTML
    chart: bool = False


@dataclass
class Brief:
    path: Path
    sections: list[Section] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # section titles without data, with the reason shown

    @property
    def charts(self) -> int:
        return sum(s.chart for s in self.sections)

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _svg(draw: Callable, width: float = 7.0, height: float = 3.2) -> str:
    """A matplotlib drawing as inline SVG (text as text), without the XML prologue."""
    import matplotlib

    matplotlib.use("Agg")  # no display; the SVG backend writes the file
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": MUTED,
            "axes.labelcolor": INK,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "svg.hashsalt": "brief",  # the same data gives the same file
        }
    ):
        figure = Figure(figsize=(width, height), layout="constrained")
        draw(figure.add_subplot())
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


class _Release:
    """The release's tables, read from its Parquet files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.conn = duckdb.connect()

    def has(self, table: str) -> bool:
        return (self.folder / f"{table}.parquet").exists()

    def rows(self, sql: str) -> list[tuple]:
        """``sql`` with ``{table}`` names replaced by their Parquet files; [] when a table is missing."""
        tables = re.findall(r"\{(\w+)\}", sql)
        if not all(self.has(t) for t in tables):
            return []
        for table in tables:
            path = str(self.folder / f"{table}.parquet").replace("'", "''")
            sql = sql.replace("{" + table + "}", f"read_parquet('{path}')")
        return self.conn.execute(sql).fetchall()


def _withheld_reason(release: _Release, analysis_words: str) -> str:
    rows = release.rows(
        "select reason, enable_hint from {mart_analysis_status} where status <> 'published' "
        f"and lower(analysis) like '%{analysis_words}%' order by analysis_order limit 1"
    )
    if rows:
        reason, hint = rows[0]
        return f"{reason}" + (f" To enable: {hint}" if hint else "")
    return "The release has no rows for it."


def _withheld(release: _Release, brief: Brief, title: str, analysis_words: str) -> Section:
    brief.withheld.append(title)
    return Section(title, f'<p class="withheld">Withheld: {_e(_withheld_reason(release, analysis_words))}</p>')


def _accounts_to_act_on(release: _Release, brief: Brief) -> Section:
    from pipeline.insight.headlines import ACCOUNTS_TO_ACT_ON_SQL

    rows = release.rows(ACCOUNTS_TO_ACT_ON_SQL.format(mart_account_360="{mart_account_360}", limit=ACCOUNTS_TO_ACT_ON))
    if not rows:
        return _withheld(release, brief, "Accounts to act on", "churn")
    body = [
        "<table><thead><tr><th>Account</th><th>Tier</th><th>Churn risk</th><th>Revenue at risk</th>"
        "<th>Recommended action, and why</th></tr></thead><tbody>"
    ]
    for name, tier, probability, at_risk, action in rows:
        risk = f"{float(probability):.0%}" if probability is not None else "–"
        money = f"EUR {float(at_risk):,.0f}" if at_risk is not None else "–"
        body.append(
            f"<tr><td>{_e(name)}</td><td>{_e(tier)}</td><td class='n'>{risk}</td><td class='n'>{money}</td>"
            f"<td>{_e(action)}</td></tr>"
        )
    body.append("</tbody></table>")
    return Section("Accounts to act on", "".join(body))


def _drivers(release: _Release, brief: Brief) -> Section:
    rows = release.rows(
        """
        select driver_label, driver_class, penalty, penalty_ci_low, penalty_ci_high, reward, reward_ci_low,
               reward_ci_high, summary
        from {mart_driver_analysis}
        where scope_type = 'overall' and outcome = 'recommendation' and penalty is not null
        order by penalty
        """
    )
    if not rows:
        return _withheld(release, brief, "What drives recommendation", "driver")

    def draw(ax):
        labels = [r[0] for r in rows]
        colours = [CLASS_COLOURS.get(r[1] or "", RAW) for r in rows]
        y = range(len(rows))
        penalty = [float(r[2]) for r in rows]
        reward = [float(r[5]) for r in rows]

        def errors(values, low, high):
            return [
                [max(0.0, v - float(r[low])) if r[low] is not None else 0.0 for v, r in zip(values, rows, strict=True)],
                [
                    max(0.0, float(r[high]) - v) if r[high] is not None else 0.0
                    for v, r in zip(values, rows, strict=True)
                ],
            ]

        ax.barh(y, penalty, color=colours, alpha=0.55, xerr=errors(penalty, 3, 4), ecolor=MUTED, label="penalty")
        ax.barh(y, reward, color=colours, xerr=errors(reward, 6, 7), ecolor=MUTED, label="reward")
        ax.set_yticks(list(y), labels)
        ax.axvline(0, color=INK, linewidth=0.8)
        ax.set_xlabel("points on the 0-10 recommendation: a low rating's penalty (left), a high one's reward (right)")
        from matplotlib.patches import Patch

        shown = [c for c in CLASS_COLOURS if any(r[1] == c for r in rows)]
        ax.legend(
            handles=[Patch(color=CLASS_COLOURS[c], label=c) for c in shown],
            loc="lower right",
            frameon=False,
            fontsize=8,
        )

    summaries = "".join(f"<li>{_e(r[8])}</li>" for r in rows if r[8])
    body = f'<figure class="chart">{_svg(draw)}</figure>' + (f"<ul class='small'>{summaries}</ul>" if summaries else "")
    return Section("What drives recommendation", body, chart=True)


def _nps(release: _Release, brief: Brief) -> Section:
    rows = release.rows(
        """
        select period, nps, nps_margin_of_error, adjusted_nps, adjusted_nps_margin_of_error, responses
        from {mart_nps_summary}
        where period_type = 'quarter' and segment_name = 'All segments' and nps is not null
        order by period
        """
    )
    statement = release.rows(
        "select nps_statement from {mart_nps_summary} "
        "where period_type = 'last_12_months' and segment_name = 'All segments' limit 1"
    )
    if not rows:
        return _withheld(release, brief, "NPS, raw and adjusted", "nps")

    def draw(ax):
        x = list(range(len(rows)))
        raw = [float(r[1]) for r in rows]
        raw_margin = [float(r[2] or 0) for r in rows]
        ax.errorbar([i - 0.08 for i in x], raw, yerr=raw_margin, fmt="o", color=RAW, capsize=3, label="raw")
        adjusted = [(i, float(r[3]), float(r[4] or 0)) for i, r in zip(x, rows, strict=True) if r[3] is not None]
        if adjusted:
            ax.errorbar(
                [i + 0.08 for i, _, _ in adjusted],
                [v for _, v, _ in adjusted],
                yerr=[m for _, _, m in adjusted],
                fmt="o-",
                color=ACCENT,
                capsize=3,
                label="adjusted to the invited mix",
            )
        ax.set_xticks(x, [r[0] for r in rows])
        ax.axhline(0, color=MUTED, linewidth=0.6)
        ax.set_ylabel("NPS (± margin of error, 95%)")
        ax.legend(frameon=False, fontsize=8)

    text = f"<p>{_e(statement[0][0])}</p>" if statement and statement[0][0] else ""
    return Section("NPS, raw and adjusted", f'{text}<figure class="chart">{_svg(draw)}</figure>', chart=True)


def _pareto(release: _Release, brief: Brief) -> Section:
    rows = release.rows(
        """
        select gross_profit_rank, cumulative_gross_profit_share, value_tier
        from {mart_account_360}
        where is_active_customer and gross_profit_rank is not null
        order by gross_profit_rank
        """
    )
    if not rows:
        return _withheld(release, brief, "Where the value is", "value")
    total = len(rows)
    tier_a = sum(1 for r in rows if r[2] == "A")

    def draw(ax):
        shares = [r[0] / total for r in rows]
        ax.plot(shares, [float(r[1]) for r in rows], color=ACCENT)
        if tier_a:
            ax.axvline(tier_a / total, color=MUTED, linestyle="--", linewidth=0.8)
            ax.annotate(f"tier A: {tier_a / total:.0%} of accounts", (tier_a / total, 0.05), color=INK, fontsize=8)
        ax.set_xlabel("share of active accounts, by gross profit")
        ax.set_ylabel("cumulative share of gross profit")
        ax.set_ylim(0, 1.05)

    return Section("Where the value is", f'<figure class="chart">{_svg(draw, height=2.8)}</figure>', chart=True)


def _competitors(release: _Release, brief: Brief) -> Section:
    from pipeline.insight.headlines import NO_COMPETITOR_NAMED

    # Leavers who named no competitor are a row of the mart, not a competitor to chart.
    rows = release.rows(
        f"""
        select competitor_name, accounts_considering_alternatives, lost_customers_12m, signal_summary
        from {{mart_competitor_signals}}
        where competitor_name <> '{NO_COMPETITOR_NAMED}'
        order by accounts_considering_alternatives desc nulls last, lost_customers_12m desc nulls last
        limit 8
        """
    )
    if not rows:
        return _withheld(release, brief, "Competitors", "competitor")

    def draw(ax):
        names = [r[0] for r in rows][::-1]
        y = range(len(names))
        ax.barh([i + 0.2 for i in y], [r[1] or 0 for r in rows][::-1], height=0.4, color=ACCENT, label="considering")
        ax.barh([i - 0.2 for i in y], [r[2] or 0 for r in rows][::-1], height=0.4, color="#c0392b", label="lost to")
        ax.set_yticks(list(y), names)
        ax.set_xlabel("accounts (considering it: survey; lost to it: last 12 months)")
        ax.legend(frameon=False, fontsize=8)

    summaries = "".join(f"<li>{_e(r[3])}</li>" for r in rows[:3] if r[3])
    body = f'<figure class="chart">{_svg(draw, height=2.8)}</figure><ul class="small">{summaries}</ul>'
    return Section("Competitors", body, chart=True)


def _voice(release: _Release, brief: Brief) -> Section:
    rows = release.rows(
        "select coverage_gap, count(*), sum(share_of_revenue) from {mart_survey_coverage} group by all order by 3 desc"
    )
    if not release.has("mart_survey_coverage"):
        return _withheld(release, brief, "Whose voice we hear", "coverage")
    silent = sum(float(r[2] or 0) for r in rows)

    def draw(ax):
        parts = [(str(r[0]), float(r[2] or 0)) for r in rows] + [("heard from in 12 months", max(0.0, 1 - silent))]
        left = 0.0
        colours = ["#c0392b", "#e67e22", "#f1c40f", ACCENT]
        for (label, share), colour in zip(parts, colours[-len(parts) :], strict=False):
            ax.barh([0], [share], left=left, color=colour, label=f"{label} ({share:.0%})")
            left += share
        ax.set_xlim(0, 1)
        ax.set_yticks([])
        ax.set_xlabel("share of revenue (last 12 months)")
        ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.6), ncol=2)

    accounts = sum(int(r[1]) for r in rows)
    text = f"<p>{accounts} active accounts, {silent:.0%} of revenue, gave no survey answer in 12 months.</p>"
    return Section("Whose voice we hear", f'{text}<figure class="chart">{_svg(draw, height=1.6)}</figure>', chart=True)


def _model(release: _Release, brief: Brief) -> Section:
    rows = release.rows(
        """
        select risk_decile, lift, evaluation_window, top_decile_lift, roc_auc
        from {mart_model_performance}
        where is_champion and lift is not null
        order by risk_decile
        """
    )
    if not rows:
        return _withheld(release, brief, "How well the churn model finds churners", "churn")

    def draw(ax):
        ax.bar([r[0] for r in rows], [float(r[1]) for r in rows], color=ACCENT)
        ax.axhline(1, color=INK, linewidth=0.8, linestyle="--")
        ax.set_xticks([r[0] for r in rows])
        ax.set_xlabel("risk decile (1 = highest predicted risk)")
        ax.set_ylabel("churn rate / average")

    window, top, auc = rows[0][2], rows[0][3], rows[0][4]
    text = (
        f"<p>Out of time, {_e(window)}: the riskiest tenth churned {float(top):.1f} times as often as "
        "the other nine tenths" + (f"; ROC-AUC {float(auc):.2f}" if auc is not None else "") + ".</p>"
    )
    return Section(
        "How well the churn model finds churners",
        f'{text}<figure class="chart">{_svg(draw, height=2.6)}</figure>',
        True,
    )


def _closing_the_loop(release: _Release, brief: Brief) -> Section:
    """The closed-loop rate and the field's NPS claim against this company's data: sentences and a small
    table, no chart (mart_feedback_follow_up_summary, mart_nps_and_results)."""
    follow_up = release.rows(
        "select follow_up_statement from {mart_feedback_follow_up_summary} where period_type = 'last_12_months' "
        "and account_owner_key = 'All owners' and segment_key = 0"
    )
    open_answers = release.rows(
        "select count(*), min(response_date) from {mart_feedback_follow_up} where open_follow_up_rank is not null"
    )
    bands = release.rows(
        """
        select period, nps_band, accounts, profitability_vs_average, profitability_vs_average_ci_low,
               profitability_vs_average_ci_high, revenue_growth_yoy, results_statement
        from {mart_nps_and_results}
        where periods_back = (select min(periods_back) from {mart_nps_and_results})
        order by nps_band_order
        """
    )
    if not follow_up and not bands:
        return _withheld(release, brief, "Closing the loop", "nps")
    body = []
    if follow_up:
        body.append(f"<p>Last 12 months: {_e(follow_up[0][0])}</p>")
    if open_answers and open_answers[0][0]:
        count, oldest = open_answers[0]
        body.append(
            f"<p>{count} answers of current customers await a first follow-up, the oldest from {_e(oldest)}.</p>"
        )
    if bands:

        def ratio(value, low, high) -> str:
            if value is None:
                return "–"
            interval = f" ({float(low):.1f} to {float(high):.1f})" if low is not None and high is not None else ""
            return f"{float(value):.1f}{interval}"

        body.append(f"<p>{_e(bands[0][7])}</p>")
        body.append(
            f"<table><thead><tr><th>NPS band, {_e(bands[0][0].lower())}</th><th>Accounts</th>"
            "<th>Profitability against the average (95% interval)</th><th>Revenue growth</th></tr></thead><tbody>"
        )
        for _, band, accounts, value, low, high, growth, _ in bands:
            grown = f"{float(growth):+.0%}" if growth is not None else "–"
            body.append(
                f"<tr><td>{_e(band)}</td><td class='n'>{accounts}</td><td class='n'>{ratio(value, low, high)}</td>"
                f"<td class='n'>{grown}</td></tr>"
            )
        body.append("</tbody></table>")
    return Section("Closing the loop", "".join(body))


def _segments(release: _Release, brief: Brief) -> Section:
    """The behavioural and needs segments (mart_segments): one table row per segment, words first."""
    rows = release.rows(
        """
        select segment_number, segment, description, accounts, account_share, revenue_share, revenue_growth_yoy,
               nps_12m, mean_churn_probability, criterion, feature_basis
        from {mart_segments}
        order by segment_number
        """
    )
    if not rows:
        return _withheld(release, brief, "Segments", "segments")
    body = [
        f"<p>{len(rows)} segments of the active accounts, by what they buy, how they are served and what they "
        "rate low or high; the number chosen by the "
        f"{_e(rows[0][9].split(' over ')[0])}. {_e(rows[0][10])}.</p>",
        "<table><thead><tr><th>Segment</th><th>What sets it apart</th><th>Accounts</th><th>Revenue</th>"
        "<th>Growth</th><th>NPS</th><th>Churn risk</th></tr></thead><tbody>",
    ]
    for number, name, description, accounts, share, revenue_share, growth, nps, churn, _, _ in rows:
        traits = description.split("sets itself apart by being ", 1)[-1]
        body.append(
            f"<tr><td>{number}. {_e(name)}</td><td>{_e(traits)}</td>"
            f"<td class='n'>{accounts} ({float(share):.0%})</td>"
            f"<td class='n'>{float(revenue_share):.0%}</td>"
            f"<td class='n'>{f'{float(growth):+.0%}' if growth is not None else '–'}</td>"
            f"<td class='n'>{f'{float(nps):.0f}' if nps is not None else '–'}</td>"
            f"<td class='n'>{f'{float(churn):.1%}' if churn is not None else '–'}</td></tr>"
        )
    body.append(
        "</tbody></table><p class='small'>Revenue: share of the segmented accounts' revenue of the last twelve "
        "months; NPS: relationship answers of the last twelve months, not adjusted for who answered, withheld on "
        "too few; churn risk: mean churn probability. A description, not a cause: see docs/customer_insight.md.</p>"
    )
    return Section("Segments", "".join(body))


def _retention_effect(release: _Release, brief: Brief) -> Section:
    """This month's retention contact list and, once a cohort has passed the horizon, the effect measured
    against the holdout (mart_retention_contacts, mart_retention_effect): sentences only."""
    title = "Retention contacts and their effect"
    effect = release.rows(
        "select effect_sentence, per_protocol_relative_reduction, accounts_kept, revenue_kept_eur "
        "from {mart_retention_effect} where is_all_cohorts"
    )
    contacts = release.rows("select count(*), min(cohort_month), max(contact_by_date) from {mart_retention_contacts}")
    if not effect and not (contacts and contacts[0][0]):
        return _withheld(release, brief, title, "retention")
    body = []
    if contacts and contacts[0][0]:
        count, month, due = contacts[0]
        body.append(
            f"<p>{count} accounts are on the retention contact list of {_e(str(month)[:7])}, to be called by "
            f"{_e(due)}; a random holdout of the selected accounts is left off the list, so that the calls' "
            "effect can be measured.</p>"
        )
    if effect:
        sentence, per_protocol, kept, revenue = effect[0]
        body.append(f"<p>{_e(sentence)}</p>")
        if kept is not None and revenue is not None:
            body.append(
                f"<p>Kept against the holdout's churn: about {float(kept):.0f} accounts and "
                f"{float(revenue):,.0f} EUR of yearly revenue.</p>".replace(",", " ")
            )
        if per_protocol is not None:
            body.append(
                f"<p>The accounts actually reached churned {float(per_protocol):.0%} less than the holdout; who is "
                "reached is not chosen at random, so this figure is not an effect.</p>"
            )
    else:
        body.append(f"<p>The effect is not measured yet: {_e(_withheld_reason(release, 'retention'))}</p>")
    return Section(title, "".join(body))


def _status(release: _Release) -> Section | None:
    rows = release.rows(
        "select analysis, status, reason, enable_hint from {mart_analysis_status} where status <> 'published' "
        "order by analysis_order"
    )
    if not rows:
        return None
    items = "".join(
        f"<li><b>{_e(a)}</b> ({_e(s)}): {_e(r)}" + (f" To enable: {_e(h)}" if h else "") + "</li>"
        for a, s, r, h in rows
    )
    return Section("What this release withholds or qualifies", f"<ul>{items}</ul>")


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px}
.meta{color:#7b8794;font-size:13px;margin-bottom:16px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
figure{margin:8px 0}figure svg{width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px;border-bottom:1px solid #e4e7eb;vertical-align:top}
td.n{text-align:right;white-space:nowrap}.small{font-size:13px;color:#52606d}.withheld{color:#7b8794;font-style:italic}
ul.findings li{margin:4px 0}
"""


def build_brief(release_folder: Path, headlines: dict[str, str] | None, target: Path) -> Brief:
    """Write the brief for the release in ``release_folder`` to ``target`` (atomically) and describe it."""
    import json

    release = _Release(release_folder)
    manifest = json.loads((release_folder / "_manifest.json").read_text())
    brief = Brief(target)
    if headlines:
        items = "".join(f"<li>{_e(text)}</li>" for text in headlines.values())
        brief.sections.append(Section("What the data says", f'<ul class="findings">{items}</ul>'))
    for build in (
        _accounts_to_act_on,
        _drivers,
        _nps,
        _pareto,
        _segments,
        _competitors,
        _voice,
        _model,
        _closing_the_loop,
        _retention_effect,
    ):
        brief.sections.append(build(release, brief))
    status = _status(release)
    if status is not None:
        brief.sections.append(status)
    release.conn.close()

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may be fetched when the file is opened (mail, an intranet without internet).
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        f"<title>Account brief, data as of {_e(manifest.get('data_as_of'))}</title><style>{STYLE}</style></head>",
        "<body><main>",
        "<h1>Account brief</h1>",
        f'<div class="meta">Data as of {_e(manifest.get("data_as_of"))} · release {_e(manifest["release_id"])} '
        f"· published {_e(manifest['published_at'])} · written {generated}</div>",
    ]
    for section in brief.sections:
        page.append(f"<section><h2>{_e(section.title)}</h2>{section.body}</section>")
    page.append("</main></body></html>")
    text = "\n".join(page)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)  # a reader sees the old brief or the new one, never half of one
    return brief
