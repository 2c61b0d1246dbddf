"""The work-report dashboard: one self-contained HTML page (inline SVG, no scripts, nothing
fetched) drawn from the serving file — what the checks found in the data behind the figures,
the year's KPIs as the report lists them, each KPI's city-wide monthly series, and the year's
figures by district."""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

# KPIs drawn as charts (the table lists all of them).
CHARTED = (
    "new_members",
    "disputes_accepted",
    "hotline_requests",
    "care_visits_person_times",
    "new_form_service_person_times",
    "members_active_end",
)
WIDTH, HEIGHT, PAD = 520, 180, 36


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2f}"


def _line_chart(points: list[tuple[str, float]]) -> str:
    if not points:
        return "<p>no data</p>"
    top = max(v for _, v in points) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    xy = [
        (PAD + i * step, HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD))
        for i, (_, v) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    ticks = "".join(
        f'<text x="{x:.1f}" y="{HEIGHT - 12}" font-size="9" text-anchor="middle">'
        f"{label[2:7]}</text>"
        for (x, _), (label, _) in zip(xy, points, strict=True)
        if label.endswith("-01-01") or label.endswith("-07-01")
    )
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>' for x, y in xy)
    return (
        f'<svg class="line" width="{WIDTH}" height="{HEIGHT}" role="img">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="#999"/><text x="{PAD}" y="14" font-size="10">{_number(top)}</text>'
        f'<polyline fill="none" stroke="#c0392b" stroke-width="2" points="{path}"/>'
        f'<g fill="#c0392b">{dots}</g>{ticks}</svg>'
    )


def _bar_chart(bars: list[tuple[str, float]]) -> str:
    top = max((v for _, v in bars), default=0) or 1.0
    row = 18
    height = row * len(bars) + 8
    items = "".join(
        f'<text x="0" y="{i * row + 13}" font-size="11">{html.escape(name)}</text>'
        f'<rect x="90" y="{i * row + 3}" height="12" width="{(v / top) * (WIDTH - 190):.1f}" '
        f'fill="#2c7fb8"/><text x="{95 + (v / top) * (WIDTH - 190):.1f}" y="{i * row + 13}" '
        f'font-size="10">{_number(v)}</text>'
        for i, (name, v) in enumerate(bars)
    )
    return f'<svg class="bars" width="{WIDTH}" height="{height}" role="img">{items}</svg>'


def _quality_findings(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(severity, Chinese, English) of every failed check in the serving file, if it has
    the table (files published before it existed do not)."""
    (present,) = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'data_quality'"
    ).fetchall()[0]
    if not present:
        return []
    return con.execute(
        "select severity, finding_zh, finding_en from marts.data_quality "
        "where not passed and finding_en is not null "
        "order by severity, records_failing desc nulls last, asset, check_name, measure"
    ).fetchall()


def _quality_panel(findings: list[tuple[str, str, str]]) -> str:
    if not findings:
        items = "<li>所有数据质量检查均通过 · every data-quality check passed</li>"
    else:
        items = "".join(
            f'<li class="{severity.lower()}">{html.escape(zh)}<br>'
            f"<small>{html.escape(en)}</small></li>"
            for severity, zh, en in findings
        )
    return (
        '<section class="quality" id="data-quality"><h2>数据质量 <small>Data quality: what '
        "the checks found in the records behind these figures</small></h2>"
        f"<ul>{items}</ul></section>"
    )


def render(serving: Path, year: int | None = None) -> str:
    with duckdb.connect(str(serving), read_only=True) as con:
        (version,) = con.execute("select version from meta.publication").fetchall()[0]
        if year is None:
            # the latest year with a December: the last complete report year
            (year,) = con.execute(
                "select max(year(period_start)) from marts.kpi_values "
                "where period_grain = 'month' and month(period_start) = 12"
            ).fetchall()[0]
        report = con.execute(
            "select kpi_code, name_zh, name_en, value_zh from marts.kpi_report_year "
            "where report_year = ? order by report_order",
            [year],
        ).fetchall()
        names = {code: (zh, en) for code, zh, en, _ in report}
        monthly = con.execute(
            "select kpi_code, strftime(period_start, '%Y-%m-%d'), value from marts.kpi_values "
            "where period_grain = 'month' and district_code = 'ALL' and kpi_code in ? "
            "and period_start >= make_date(? - 1, 1, 1) and period_start < make_date(? + 1, 1, 1) "
            "order by 1, 2",
            [list(CHARTED), year, year],
        ).fetchall()
        by_district = con.execute(
            "select k.kpi_code, d.district_name_zh, k.value from marts.kpi_values as k "
            "inner join marts.dim_district as d on k.district_code = d.district_code "
            "where k.period_grain = 'year' and k.period_start = make_date(?, 1, 1) "
            "and k.kpi_code in ? order by k.kpi_code, k.value desc",
            [year, list(CHARTED)],
        ).fetchall()
        findings = _quality_findings(con)
    rows = "".join(
        f"<tr><td>{html.escape(zh)}</td><td>{html.escape(en)}</td>"
        f'<td class="num">{html.escape(value or "–")}</td></tr>'
        for _, zh, en, value in report
    )
    panels = []
    for code in CHARTED:
        zh, en = names.get(code, (code, code))
        series = [(p, v or 0.0) for k, p, v in monthly if k == code]
        districts = [(d, v or 0.0) for k, d, v in by_district if k == code]
        panels.append(
            f'<section class="kpi" id="{code}"><h2>{html.escape(zh)} <small>{html.escape(en)}'
            f"</small></h2><h3>全市逐月 · monthly, city ({year - 1}–{year})</h3>"
            f"{_line_chart(series)}<h3>{year}年各区 · by district</h3>{_bar_chart(districts)}"
            "</section>"
        )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{year}年工会工作报告指标 · Work-report KPIs {year}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 24px;
       color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 24px; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 10px; font-size: 13px; }}
td.num {{ text-align: right; font-weight: bold; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 24px; }}
section.kpi {{ border: 1px solid #ddd; padding: 8px 12px; }}
h2 {{ font-size: 16px; margin: 4px 0; }} h3 {{ font-size: 12px; color: #666; margin: 6px 0; }}
small {{ color: #888; font-weight: normal; }}
section.quality {{ border-left: 4px solid #e6a23c; padding: 4px 12px; margin-bottom: 20px; }}
section.quality ul {{ margin: 4px 0; padding-left: 18px; font-size: 13px; }}
section.quality li.error {{ color: #c0392b; }}
</style></head><body>
<h1>{year}年工会工作报告指标 <small>Work-report KPIs, {year} · version {version}</small></h1>
{_quality_panel(findings)}
<table><tr><th>指标</th><th>KPI</th><th>{year}</th></tr>{rows}</table>
<div class="grid">{"".join(panels)}</div>
</body></html>
"""


def write_dashboard(serving: Path, out: Path, year: int | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.tmp")
    staged.write_text(render(serving, year), encoding="utf-8")
    staged.replace(out)
    return out
