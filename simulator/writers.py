"""Writers that publish the world as the three source systems present it: the membership
database (any SQLAlchemy URL), the dispute export directory and the service landing directory."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa
import xlsxwriter

from simulator import calibration as cal
from simulator.disputes import case_versions, hotline_versions
from simulator.membership import end_of, events_as_of, honors_as_of, members_as_of, unions_as_of

# --- Membership database ---------------------------------------------------------------------

METADATA = sa.MetaData()
S, D, T, Int, B = sa.String, sa.Date, sa.DateTime, sa.Integer, sa.Boolean
TABLES = {
    "union_org": sa.Table(
        "union_org", METADATA,
        sa.Column("union_id", S(16), primary_key=True), sa.Column("union_uscc", S(18)),
        sa.Column("union_name", S(200)), sa.Column("union_type", S(20)),
        sa.Column("employer_uscc", S(18)), sa.Column("employer_name", S(200)),
        sa.Column("unit_category", S(8)), sa.Column("industry_code", S(8)),
        sa.Column("district_code", S(8)), sa.Column("parent_union_id", S(16)),
        sa.Column("founded_on", D), sa.Column("headcount", Int), sa.Column("status", S(20)),
        sa.Column("dissolved_on", D), sa.Column("created_at", T),
        sa.Column("updated_at", T, index=True),
    ),
    "member": sa.Table(
        "member", METADATA,
        sa.Column("member_id", S(16), primary_key=True), sa.Column("union_id", S(16)),
        sa.Column("name", S(50)), sa.Column("id_type", S(20)), sa.Column("id_number", S(32)),
        sa.Column("phone", S(20)), sa.Column("gender", S(2)), sa.Column("birth_date", D),
        sa.Column("ethnicity_code", S(4)), sa.Column("education", S(20)),
        sa.Column("hukou_type", S(10)), sa.Column("from_outside_beijing", B),
        sa.Column("employment_form", S(20)), sa.Column("new_form_type", S(20)),
        sa.Column("platform_name", S(50)), sa.Column("skill_level", Int),
        sa.Column("status", S(20)), sa.Column("joined_on", D), sa.Column("created_at", T),
        sa.Column("updated_at", T, index=True),
    ),
    "membership_event": sa.Table(
        "membership_event", METADATA,
        sa.Column("event_id", S(16), primary_key=True), sa.Column("member_id", S(16), index=True),
        sa.Column("event_type", S(20)), sa.Column("union_id", S(16)),
        sa.Column("counterpart_union_id", S(16)), sa.Column("event_date", D),
        sa.Column("channel", S(10)), sa.Column("employment_form", S(20)),
        sa.Column("recorded_at", T, index=True),
    ),
    "honor": sa.Table(
        "honor", METADATA,
        sa.Column("honor_id", S(16), primary_key=True), sa.Column("honor_type", S(24)),
        sa.Column("level", S(12)), sa.Column("member_id", S(16)), sa.Column("union_id", S(16)),
        sa.Column("team_name", S(100)), sa.Column("awarded_on", D), sa.Column("revoked", B),
        sa.Column("updated_at", T, index=True),
    ),
}  # fmt: skip
KEYS = {
    "union_org": "union_id",
    "member": "member_id",
    "membership_event": "event_id",
    "honor": "honor_id",
}


def membership_tables(world, as_of: dt.date) -> dict[str, pl.DataFrame]:
    return {
        "union_org": unions_as_of(world.unions, as_of),
        "member": members_as_of(world.members, world.events, as_of),
        "membership_event": events_as_of(world.events, as_of),
        "honor": honors_as_of(world.honors, as_of),
    }


def _for_sqlite(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Datetime:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S"))
        elif dtype == pl.Date:
            exprs.append(pl.col(name).cast(pl.String))
        elif dtype == pl.Boolean:
            exprs.append(pl.col(name).cast(pl.Int8))
        else:
            exprs.append(pl.col(name))
    return df.select(exprs)


def insert_rows(engine: sa.Engine, table: str, df: pl.DataFrame) -> None:
    """Bulk insert through the fastest path each database offers."""
    if df.height == 0:
        return
    cols = list(df.columns)
    if engine.dialect.name == "postgresql":
        buf = io.BytesIO()
        df.write_csv(buf, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S", null_value="")
        raw = engine.raw_connection()
        try:
            with (
                raw.cursor() as cur,
                cur.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, NULL '')"
                ) as copy,
            ):
                copy.write(buf.getvalue())
            raw.commit()
        finally:
            raw.close()
        return
    if engine.dialect.name == "sqlite":
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        with engine.begin() as conn:
            # Chunks bound memory: Python tuples of a whole SF1 table would take gigabytes.
            for chunk in _for_sqlite(df).iter_slices(100_000):
                conn.exec_driver_sql(sql, chunk.rows())
        return
    with engine.begin() as conn:
        for chunk in df.iter_slices(10_000):
            conn.execute(TABLES[table].insert(), chunk.to_dicts())


def delete_keys(engine: sa.Engine, table: str, keys: Iterable[str]) -> None:
    keys = list(keys)
    if not keys:
        return
    column = TABLES[table].c[KEYS[table]]
    with engine.begin() as conn:
        for start in range(0, len(keys), 5_000):
            conn.execute(TABLES[table].delete().where(column.in_(keys[start : start + 5_000])))


def create_membership_db(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a fresh file keeps the output byte-identical per seed
    engine = sa.create_engine(url)
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    return engine


def write_membership_full(engine: sa.Engine, world, as_of: dt.date) -> dict[str, int]:
    counts = {}
    for table, df in membership_tables(world, as_of).items():
        insert_rows(engine, table, df)
        counts[table] = df.height
    return counts


def write_membership_delta(
    engine: sa.Engine, world, old: dict[str, pl.DataFrame], as_of: dt.date
) -> dict[str, dict[str, int]]:
    """Apply what changed between two days: new rows, rows updated in place, hard deletes."""
    new = membership_tables(world, as_of)
    stats = {}
    for table, frame in new.items():
        key = KEYS[table]
        stamp = "recorded_at" if table == "membership_event" else "updated_at"
        before = old[table].select(key, pl.col(stamp).alias("_old"))
        joined = frame.join(before, on=key, how="left")
        changed = joined.filter(pl.col("_old").is_null() | (pl.col("_old") != pl.col(stamp)))
        gone = before.join(frame.select(key), on=key, how="anti")[key].to_list()
        updated = changed.filter(pl.col("_old").is_not_null())[key].to_list()
        delete_keys(engine, table, updated + gone)
        insert_rows(engine, table, changed.drop("_old"))
        stats[table] = {
            "inserted": changed.height - len(updated),
            "updated": len(updated),
            "deleted": len(gone),
        }
    return stats


# --- Dispute export --------------------------------------------------------------------------


def _window(t0: dt.date | None, t1: dt.date) -> tuple[np.datetime64 | None, np.datetime64]:
    return (end_of(t0) if t0 else None), end_of(t1)


def write_dispute_export(folder: Path, world, t0: dt.date | None, t1: dt.date) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    lo, hi = _window(t0, t1)
    counts = {}
    for prefix, frame in (
        ("cases", case_versions(world.cases, world.case_events, lo, hi)),
        ("hotline", hotline_versions(world.hotline, lo, hi)),
    ):
        for (day,), part in frame.partition_by(
            "file_date", as_dict=True, maintain_order=True
        ).items():
            path = folder / f"{prefix}-{day:%Y%m%d}.jsonl"
            part.drop("file_date").write_ndjson(path)
        counts[prefix] = frame.height
    return counts


# --- Service landing directory ---------------------------------------------------------------

DELIVERY_COLUMNS = (
    "delivery_id", "program_code", "member_id", "beneficiary_group", "union_id", "union_name",
    "station_id", "district_code", "delivered_on", "person_times", "benefit_value_yuan",
    "channel", "recorded_at", "remark",
)  # fmt: skip
VISIT_HEADERS = ("驿站编号", "日期", "服务人次", "其中新就业形态", "填报单位")


def delivery_rows(deliveries: pl.DataFrame) -> pl.DataFrame:
    cents = pl.col("benefit_cents")
    return deliveries.select(
        *DELIVERY_COLUMNS[:9], "person_times",
        ((cents // 100).cast(pl.String) + "." + (cents % 100).cast(pl.String).str.zfill(2))
        .alias("benefit_value_yuan"),
        "channel", pl.col("recorded_at").dt.strftime("%Y-%m-%d %H:%M:%S"), "remark",
        pl.col("recorded_at").dt.date().alias("file_date"),
    )  # fmt: skip


def encode_csv(df: pl.DataFrame, district: str) -> bytes:
    data = df.write_csv(quote_style="necessary")
    encoding = "gb18030" if district in cal.GB18030_DISTRICTS else "utf-8"
    return data.encode(encoding)


def delivery_path(root: Path, district: str, day: dt.date, revision: int = 1) -> Path:
    suffix = f"-r{revision}" if revision > 1 else ""
    return root / "deliveries" / district / f"deliveries-{day:%Y%m%d}{suffix}.csv"


def _csv_field(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String).fill_null("")
    return (
        pl.when(text.str.contains(r'[",\r\n]'))
        .then(pl.lit('"') + text.str.replace_all('"', '""', literal=True) + pl.lit('"'))
        .otherwise(text)
    )


def write_deliveries(root: Path, deliveries: pl.DataFrame, t0: dt.date | None, t1: dt.date) -> int:
    lo, hi = _window(t0, t1)
    frame = deliveries.filter(pl.col("recorded_at") <= hi)
    if lo is not None:
        frame = frame.filter(pl.col("recorded_at") > lo)
    # Thousands of small files: format every row once in polars, then only join and write.
    files = (
        delivery_rows(frame)
        .select(
            "district_code",
            "file_date",
            pl.concat_str([_csv_field(c) for c in DELIVERY_COLUMNS], separator=",").alias("line"),
        )
        .group_by("district_code", "file_date", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    header = ",".join(DELIVERY_COLUMNS)
    for district, day, body in files.iter_rows():
        path = delivery_path(root, district, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = "gb18030" if district in cal.GB18030_DISTRICTS else "utf-8"
        path.write_bytes(f"{header}\n{body}\n".encode(encoding))
    return frame.height


def _month_starts(t0: dt.date | None, t1: dt.date) -> list[dt.date]:
    day = dt.date(cal.HISTORY_START.year, cal.HISTORY_START.month, 1)
    out = []
    while day <= t1:
        if t0 is None or day > t0:
            out.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def write_catalogues(root: Path, world, t0: dt.date | None, t1: dt.date) -> int:
    """Monthly full snapshots of the programme catalogue and the station list."""
    written = 0
    for day in _month_starts(t0, t1):
        programs = world.programs.filter(pl.col("announced_on") <= day).drop("announced_on")
        (root / "programs").mkdir(parents=True, exist_ok=True)
        programs.write_csv(root / "programs" / f"programs-{day:%Y%m%d}.csv")
        stations = _stations_listed(world.stations, day).with_columns(
            closed_on=pl.when(pl.col("closed_on") <= day).then(pl.col("closed_on"))
        )
        (root / "stations").mkdir(parents=True, exist_ok=True)
        stations.write_csv(root / "stations" / f"stations-{day:%Y%m%d}.csv")
        written += 2
    return written


def _stations_listed(stations: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The stations a snapshot of ``day`` lists: open by then, and, where the world says when
    a station was first entered in the list (``listed_on``, the late-keys shape), entered."""
    listed = stations.filter(pl.col("opened_on") <= day)
    if "listed_on" not in stations.columns:
        return listed
    entered = pl.col("listed_on").is_null() | (pl.col("listed_on") <= day)
    return listed.filter(entered).drop("listed_on")


def stations_as_of(stations: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The station list the newest snapshot published by ``as_of`` holds."""
    return _stations_listed(stations, dt.date(as_of.year, as_of.month, 1))


def write_xlsx(path: Path, headers: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """An xlsx file whose bytes depend only on its content (fixed document dates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "in_memory": False})
    workbook.set_properties({"created": dt.datetime(2020, 1, 1)})
    sheet = workbook.add_worksheet("驿站服务")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        sheet.write_string(r, 0, row[0])
        sheet.write_datetime(r, 1, dt.datetime.combine(row[1], dt.time()), date_format)
        sheet.write_number(r, 2, row[2])
        sheet.write_number(r, 3, row[3])
        sheet.write_string(r, 4, row[4])
    workbook.close()


def visits_publish_day(month_start: dt.date) -> dt.date:
    """Monthly visit reports arrive on the 3rd of the following month."""
    nxt = dt.date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    return nxt + dt.timedelta(days=2)


def write_station_visits(root: Path, visits: pl.DataFrame, t0: dt.date | None, t1: dt.date) -> int:
    months = visits.with_columns(month=pl.col("date").dt.truncate("1mo")).partition_by(
        "month", as_dict=True, maintain_order=True
    )
    written = 0
    for (month,), part in months.items():
        publish = visits_publish_day(month)
        if publish > t1 or (t0 is not None and publish <= t0):
            continue
        path = root / "station_visits" / f"station-visits-{month:%Y%m}.xlsx"
        write_xlsx(path, VISIT_HEADERS, part.sort("date", "station_id").drop("month").iter_rows())
        written += 1
    return written


def write_landing(
    root: Path,
    world,
    t0: dt.date | None,
    t1: dt.date,
    activity: bool = True,
    activity_from_start: bool = False,
) -> dict[str, int]:
    """The catalogue snapshots of (t0, t1] and, unless ``activity`` is off, the deliveries and
    visit workbooks of (t0, t1], or of every day to t1 with ``activity_from_start``: the
    empty-services shape holds the activity back on the first day and publishes it all with
    the next."""
    since = None if activity_from_start else t0
    return {
        "catalogue_files": write_catalogues(root, world, t0, t1),
        "delivery_rows": write_deliveries(root, world.deliveries, since, t1) if activity else 0,
        "visit_files": (
            write_station_visits(root, world.station_visits, since, t1) if activity else 0
        ),
    }
