"""Did the rating database round my rates? CGrateS tariffs stored as DECIMAL(M,D).

A CGrateS tariff plan (``Rates.csv``: ``#Id,ConnectFee,Rate,RateUnit,RateIncrement,
GroupIntervalStart``) is loaded into the StorDB table ``tp_rates``, whose ``rate`` column
is DECIMAL(10,4) and ``connect_fee`` DECIMAL(7,4) (cgrates
data/storage/mysql/create_tariffplan_tables.sql). DECIMAL(M,D) holds M digits in all, D
of them after the point: DECIMAL(10,4) keeps 4 decimals (0.0123456 -> 0.0123) and
DECIMAL(10,10) keeps no integer digit at all (largest value 0.9999999999), so a rate of
1 or more per unit is refused in strict mode and clipped without it.

This module models what MariaDB stores (:func:`store_decimal`, checked against a real
MariaDB by the tests and by :mod:`labkit.ops.mariadb`) and what CGrateS then charges
(:func:`call_cost`, the rules of its v0.10 engine), so a tariff and a set of CDRs can be
re-rated under several schemas (:func:`rate_cdrs`, ``labkit rating``).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["DecimalType", "StoredValue", "Rate", "Cdr", "parse_go_duration",
           "parse_decimal_type", "store_decimal", "read_rates", "read_cdrs", "store_rates",
           "cgrates_round", "call_cost", "rate_cdrs", "monthly_costs", "CGRATES_SCHEMA",
           "SEED_SCHEMA", "SOUND_SCHEMA", "CONNECT_FEE_TYPE", "STORED_COLUMNS", "as_text"]

CGRATES_SCHEMA = "DECIMAL(10,4)"    # tp_rates.rate in CGrateS's MySQL schema
SEED_SCHEMA = "DECIMAL(10,10)"      # the blog post's "fix"
SOUND_SCHEMA = "DECIMAL(20,10)"     # 10 integer digits and 10 decimals
CONNECT_FEE_TYPE = "DECIMAL(7,4)"   # tp_rates.connect_fee
_NS = 1_000_000_000
_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": _NS, "m": 60 * _NS, "h": 3600 * _NS}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_WIDE = Context(prec=60)


def parse_go_duration(text: str, *, bare: str = "ns", where: str = "duration") -> int:
    """A Go duration string (``60s``, ``1m30s``, ``500ms``) in nanoseconds.

    Parameters
    ----------
    text : str
        Go's ``time.ParseDuration`` syntax; a bare number is read in the unit `bare`.
    bare : str
        Unit of a bare number: ``"ns"`` as CGrateS's ParseDurationWithNanosecs (tariff
        fields), ``"s"`` as ParseDurationWithSecs.
    where : str
        Named in the error (file, line, column).

    Returns
    -------
    int
        Duration [ns].

    Raises
    ------
    LabkitError
        When `text` is not a duration.

    References
    ----------
    Go ``time.ParseDuration``; cgrates utils/coreutils.go ParseDurationWithNanosecs and
    ParseDurationWithSecs (a bare number gets "ns" or "s" appended).

    Examples
    --------
    >>> parse_go_duration("1m30s") // 1_000_000_000
    90
    >>> parse_go_duration("181", bare="s") // 1_000_000_000
    181
    """
    s = text.strip()
    try:
        if re.fullmatch(r"\d+(\.\d*)?|\.\d+", s):
            return int(Decimal(s) * _UNITS[bare])
        if s == "0":
            return 0
        pos, total = 0, Decimal(0)
        for m in _PART.finditer(s):
            if m.start() != pos:
                break
            total += Decimal(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if s and pos == len(s):
            return int(total)
    except (InvalidOperation, KeyError):
        pass
    raise LabkitError(f"{text!r} is not a Go duration", where,
                      "write it like 60s, 1m30s, 500ms (or a plain number of "
                      f"{'seconds' if bare == 's' else 'nanoseconds'})")


@dataclass(frozen=True)
class DecimalType:
    """A SQL DECIMAL(M,D) column type: M digits in all, D after the point."""

    precision: int   # M
    scale: int       # D

    @property
    def max_value(self) -> Decimal:
        """Largest storable value: M-D nines, the point, D nines."""
        return Decimal(10) ** (self.precision - self.scale) - Decimal(10) ** -self.scale

    def __str__(self) -> str:
        return f"DECIMAL({self.precision},{self.scale})"


def parse_decimal_type(text) -> DecimalType:
    """``"DECIMAL(10,4)"``, ``"decimal(10, 4)"`` or ``"10,4"`` as a :class:`DecimalType`.

    Parameters
    ----------
    text : str or DecimalType

    Returns
    -------
    DecimalType

    Raises
    ------
    LabkitError
        When it is not DECIMAL(M,D) with 1 <= M <= 65, 0 <= D <= 38, D <= M (MariaDB's
        limits).

    References
    ----------
    MariaDB Knowledge Base, "DECIMAL": M is the total number of digits (max 65), D the
    number after the point (max 38, not more than M).

    Examples
    --------
    >>> t = parse_decimal_type("DECIMAL(10,10)")
    >>> t.max_value
    Decimal('0.9999999999')
    >>> parse_decimal_type("20,10").max_value
    Decimal('9999999999.9999999999')
    """
    if isinstance(text, DecimalType):
        return text
    m = re.fullmatch(r"\s*(?:(?:decimal|numeric|dec)\s*\(\s*)?(\d+)\s*,\s*(\d+)\s*\)?\s*",
                     str(text), re.IGNORECASE)
    if m:
        p, d = int(m.group(1)), int(m.group(2))
        if 1 <= p <= 65 and 0 <= d <= 38 and d <= p:
            return DecimalType(p, d)
    raise LabkitError(f"{text!r} is not a usable DECIMAL(M,D) type", "--schema",
                      "give DECIMAL(M,D) or M,D with 1 <= M <= 65, D <= 38 and D <= M, "
                      "e.g. DECIMAL(20,10)")


@dataclass(frozen=True)
class StoredValue:
    """What a DECIMAL column kept of one value, and what the server said about it.

    ``value`` is None when the row was refused (``level == "Error"``); ``code`` is the
    MariaDB error/warning number (1265 data truncated, 1264 out of range, 1366 not a
    number), ``message`` its text as MariaDB writes it.
    """

    text: str
    value: Decimal | None
    level: str | None = None     # None, "Note", "Warning" or "Error"
    code: int | None = None
    message: str = ""


def store_decimal(text: str, column_type, *, strict: bool = True, column: str = "rate",
                  row: int = 1) -> StoredValue:
    """What MariaDB stores when `text` is inserted into a DECIMAL(M,D) column.

    Rules (MariaDB 10.11, checked against the server by tests/ops/test_rating.py):
    more than D decimals are rounded half away from zero with Note 1265, in strict mode
    too; a value whose rounded magnitude exceeds the type's maximum is ERROR 1264 in
    strict mode (the row is not inserted) and, with ``sql_mode=''``, Warning 1264 and the
    maximum with the value's sign; a non-number is ERROR 1366, or Warning 1366 and 0.

    Parameters
    ----------
    text : str
        The value as written in the INSERT (a quoted literal).
    column_type : str or DecimalType
        ``"DECIMAL(10,4)"`` etc.
    strict : bool
        STRICT_TRANS_TABLES in sql_mode (MariaDB 10.11's default) or ``sql_mode=''``.
    column, row : str, int
        Named in the message, as MariaDB names them.

    Returns
    -------
    StoredValue

    References
    ----------
    MariaDB Knowledge Base, "DECIMAL" and "SQL_MODE" (STRICT_TRANS_TABLES); error codes
    1264 ER_WARN_DATA_OUT_OF_RANGE, 1265 WARN_DATA_TRUNCATED, 1366
    ER_TRUNCATED_WRONG_VALUE_FOR_FIELD.

    Examples
    --------
    >>> store_decimal("0.00123456", "DECIMAL(10,4)").value
    Decimal('0.0012')
    >>> store_decimal("0.00005", "DECIMAL(10,4)").value      # half rounds up
    Decimal('0.0001')
    >>> s = store_decimal("1.5", "DECIMAL(10,10)")
    >>> s.value, s.level, s.code
    (None, 'Error', 1264)
    >>> store_decimal("1.5", "DECIMAL(10,10)", strict=False).value
    Decimal('0.9999999999')
    """
    t = parse_decimal_type(column_type)
    try:
        number = Decimal(text.strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        msg = f"Incorrect decimal value: '{text}' for column `{column}` at row {row}"
        if strict:
            return StoredValue(text, None, "Error", 1366, msg)
        return StoredValue(text, Decimal(0).quantize(Decimal(10) ** -t.scale), "Warning", 1366, msg)
    with localcontext(_WIDE):
        q = number.quantize(Decimal(10) ** -t.scale, rounding=ROUND_HALF_UP)
        if abs(q) > t.max_value:
            msg = f"Out of range value for column '{column}' at row {row}"
            if strict:
                return StoredValue(text, None, "Error", 1264, msg)
            return StoredValue(text, t.max_value.copy_sign(number), "Warning", 1264, msg)
    if q != number or text != text.rstrip():  # trailing (not leading) blanks: Note 1265 too
        return StoredValue(text, q, "Note", 1265, f"Data truncated for column '{column}' at row {row}")
    return StoredValue(text, q)


@dataclass(frozen=True)
class Rate:
    """One row of a CGrateS Rates.csv (a rate interval of the rate `rate_id`).

    Durations in [ns]; `connect_fee` and `rate` keep the text as written, so that the
    database model sees the digits the operator typed.
    """

    rate_id: str
    connect_fee: str
    rate: str
    rate_unit: int
    rate_increment: int
    group_interval_start: int
    line: int


@dataclass(frozen=True)
class Cdr:
    """One CDR to rate: its id, the rate applied, the usage [ns], the month it is billed in."""

    origin_id: str
    rate_id: str
    usage: int
    month: str
    line: int
    account: str = ""


_RATE_COLUMNS = ["#Id", "ConnectFee", "Rate", "RateUnit", "RateIncrement", "GroupIntervalStart"]


def _number(text: str, where: str) -> str:
    try:
        if not Decimal(text.strip()).is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise LabkitError(f"{text!r} is not a number", where,
                          "write rates and fees as plain decimals like 0.0123456") from None
    return text.strip()


def read_rates(path) -> list[Rate]:
    """The rate intervals of a CGrateS ``Rates.csv``.

    Parameters
    ----------
    path : str or Path
        CSV with the header ``#Id,ConnectFee,Rate,RateUnit,RateIncrement,
        GroupIntervalStart`` (CGrateS's tariff-plan format; more columns are ignored).

    Returns
    -------
    list of Rate
        In file order.

    Raises
    ------
    LabkitError
        Missing columns, a non-numeric fee or rate, a bad duration: naming line and field.

    References
    ----------
    cgrates data/tariffplans/tutorial/Rates.csv (the format); engine/rateinterval.go
    GetRateParameters (RateUnit and RateIncrement of 0 mean 1 s).

    Examples
    --------
    >>> from labkit import data
    >>> rates = read_rates(data.path("rating_rates"))
    >>> rates[0].rate_id, rates[0].rate, rates[0].rate_unit // 1_000_000_000
    ('RT_AU_FIXED', '0.0123456', 60)
    """
    rows = _csv_rows(path, _RATE_COLUMNS, "#Id")
    out = []
    for line, row in rows:
        where = f"{Path(path).name}, line {line}"
        out.append(Rate(row["#Id"].strip(), _number(row["ConnectFee"], f"{where}, ConnectFee"),
                        _number(row["Rate"], f"{where}, Rate"),
                        parse_go_duration(row["RateUnit"], where=f"{where}, RateUnit"),
                        parse_go_duration(row["RateIncrement"], where=f"{where}, RateIncrement"),
                        parse_go_duration(row["GroupIntervalStart"],
                                          where=f"{where}, GroupIntervalStart"), line))
    return out


def _csv_rows(path, required, first):
    p = Path(path)
    if not p.is_file():
        raise LabkitError("file not found", str(path), "give the path of a CSV file")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise LabkitError("empty file", p.name, f"the first line must be {','.join(required)}")
        header = [h.strip() for h in header]
        if header and header[0].lstrip("#") == first.lstrip("#"):
            header[0] = first
        missing = [c for c in required if c not in header]
        if missing:
            raise LabkitError(f"missing column(s) {', '.join(missing)} (found {', '.join(header)})",
                              f"{p.name}, line 1", f"the header must name {','.join(required)}")
        rows = []
        for n, values in enumerate(reader, start=2):
            if not values or values[0].lstrip().startswith("#") or not any(v.strip() for v in values):
                continue
            if len(values) < len(header):
                raise LabkitError(f"{len(values)} fields, the header has {len(header)}",
                                  f"{p.name}, line {n}", "fill every column")
            rows.append((n, dict(zip(header, values))))
    return rows


def read_cdrs(path) -> list[Cdr]:
    """The CDRs of a CSV with at least ``OriginID,RateID,Usage``.

    Parameters
    ----------
    path : str or Path
        CSV; ``Usage`` is a Go duration (``181s``) or a number of seconds; optional
        ``AnswerTime`` (``YYYY-MM-DD ...``) gives the billing month, optional ``Account``.

    Returns
    -------
    list of Cdr

    Raises
    ------
    LabkitError
        Missing columns or a bad usage, naming the line.

    References
    ----------
    cgrates engine/cdr.go (OriginID, Usage, AnswerTime of a CDR); utils/coreutils.go
    ParseDurationWithSecs.

    Examples
    --------
    >>> from labkit import data
    >>> cdrs = read_cdrs(data.path("rating_cdrs"))
    >>> cdrs[0].origin_id, cdrs[0].usage // 1_000_000_000, cdrs[0].month
    ('cdr-001', 181, '2026-01')
    """
    out = []
    for line, row in _csv_rows(path, ["OriginID", "RateID", "Usage"], "OriginID"):
        where = f"{Path(path).name}, line {line}"
        usage = parse_go_duration(row["Usage"], bare="s", where=f"{where}, Usage")
        answer = (row.get("AnswerTime") or "").strip()
        out.append(Cdr(row["OriginID"].strip(), row["RateID"].strip(), usage,
                       answer[:7] if re.match(r"\d{4}-\d{2}", answer) else "", line,
                       (row.get("Account") or "").strip()))
    return out


STORED_COLUMNS = ["schema", "strict", "rate_id", "group_interval_start_s", "rate_written",
                  "rate_stored", "connect_fee_written", "connect_fee_stored", "level", "code",
                  "message"]


def store_rates(rates, rate_type=CGRATES_SCHEMA, *, strict: bool = True,
                connect_fee_type=CONNECT_FEE_TYPE) -> "pd.DataFrame":
    """What ``tp_rates`` keeps of every rate row when ``rate`` is `rate_type`.

    Each row is one INSERT of (connect_fee, rate): the first column refused in strict
    mode refuses the row (both stored values None); otherwise the first note or warning
    is reported.

    Parameters
    ----------
    rates : list of Rate
    rate_type : str or DecimalType
        Type of the ``rate`` column.
    strict : bool
        Strict sql_mode (MariaDB's default) or ``sql_mode=''``.
    connect_fee_type : str or DecimalType
        Type of ``connect_fee`` (CGrateS: DECIMAL(7,4)).

    Returns
    -------
    pandas.DataFrame
        :data:`STORED_COLUMNS`, one row per rate interval, in file order.

    References
    ----------
    cgrates data/storage/mysql/create_tariffplan_tables.sql (tp_rates); MariaDB
    "DECIMAL", "SHOW WARNINGS".

    Examples
    --------
    >>> from labkit import data
    >>> t = store_rates(read_rates(data.path("rating_rates")), "DECIMAL(10,10)")
    >>> sorted(set(t.loc[t["level"] == "Error", "code"]))
    [1264]
    """
    rows = []
    for r in rates:
        fee = store_decimal(r.connect_fee, connect_fee_type, strict=strict, column="connect_fee")
        rate = store_decimal(r.rate, rate_type, strict=strict, column="rate")
        first = next((s for s in (fee, rate) if s.level == "Error"), None) or \
            next((s for s in (fee, rate) if s.level), None)
        refused = first is not None and first.level == "Error"
        rows.append({"schema": str(parse_decimal_type(rate_type)), "strict": strict,
                     "rate_id": r.rate_id, "group_interval_start_s": r.group_interval_start / _NS,
                     "rate_written": r.rate, "rate_stored": None if refused else rate.value,
                     "connect_fee_written": r.connect_fee,
                     "connect_fee_stored": None if refused else fee.value,
                     "level": first.level if first else None,
                     "code": first.code if first else None,
                     "message": first.message if first else ""})
    return _stored_frame(rows)


def _stored_frame(rows) -> "pd.DataFrame":
    """The table of :func:`store_rates` (and of the live load): plain Python values, None
    where nothing was stored or said (object columns, so pandas keeps None and Decimal)."""
    import pandas as pd
    table = pd.DataFrame(rows, columns=STORED_COLUMNS, dtype=object)
    table["group_interval_start_s"] = table["group_interval_start_s"].astype(float)
    return table


def cgrates_round(x: Decimal, decimals: int, method: str = "*middle") -> Decimal:
    """CGrateS's ``utils.Round`` on an exact decimal.

    Parameters
    ----------
    x : Decimal
        A non-negative cost.
    decimals : int
        Digits after the point.
    method : str
        ``*up`` (ceiling, unless the part beyond `decimals` is below 1e-max(7, decimals)
        of a unit, which CGrateS treats as float noise), ``*down`` (floor) or ``*middle``
        (half up).

    Returns
    -------
    Decimal

    References
    ----------
    cgrates utils/coreutils.go ``Round`` (MetaRoundingUp/Down/Middle, maxPrec 7).

    Examples
    --------
    >>> cgrates_round(Decimal("0.12341"), 4, "*up")
    Decimal('0.1235')
    >>> cgrates_round(Decimal("0.12345"), 4, "*middle"), cgrates_round(Decimal("0.12349"), 4, "*down")
    (Decimal('0.1235'), Decimal('0.1234'))
    """
    with localcontext(_WIDE):
        scaled = x * Decimal(10) ** decimals
        whole = scaled.to_integral_value(rounding=ROUND_FLOOR)
        frac = scaled - whole
        if method == "*up":
            up = frac >= Decimal(10) ** -max(7, decimals)
        elif method == "*down":
            up = False
        elif method == "*middle":
            up = frac >= Decimal("0.5")
        else:
            raise LabkitError(f"rounding method {method!r} is not *up, *down or *middle",
                              "rounding_method", "use one of CGrateS's: *up, *down, *middle")
        return Decimal(int(whole) + up).scaleb(-decimals)


def _interval(intervals, t):
    chosen = None
    for iv in intervals:
        if iv[0] <= t:
            chosen = iv
    return chosen


def call_cost(usage: int, intervals, *, rounding_decimals: int = 4, rounding_method: str = "*up",
              global_decimals: int = 5) -> Decimal:
    """The cost of a call of `usage` [ns] under one rate, by CGrateS's rules.

    The call is cut into timespans at each interval's GroupIntervalStart; each timespan
    is rounded up to a multiple of its RateIncrement (the next one starts where it
    ended); its cost is duration x rate / RateUnit rounded ``*middle`` to
    `global_decimals`, spread over its increments (each increment's cost rounded the
    same way); the first timespan carries the connect fee; the total is rounded with
    `rounding_decimals` and `rounding_method` (DestinationRates.csv's RoundingDecimals
    and RoundingMethod). A call of zero usage costs nothing.

    Parameters
    ----------
    usage : int
        Call duration [ns].
    intervals : list of (start [ns], rate, rate_unit [ns], rate_increment [ns], connect_fee)
        The rate's intervals; rate and connect_fee as Decimal.
    rounding_decimals : int
        Final rounding digits (the tutorial's DestinationRates use 4).
    rounding_method : str
        ``*up``, ``*down`` or ``*middle``.
    global_decimals : int
        ``general.rounding_decimals`` of cgrates.json (default 5).

    Returns
    -------
    Decimal

    References
    ----------
    cgrates engine/calldesc.go getCost and roundTimeSpansToIncrement,
    engine/timespans.go createIncrementsSlice, engine/rateinterval.go GetCost.

    Examples
    --------
    181 s at 0.0123456 per 60 s, 60 s increments, connect fee 0.075: 240 s; 240 x
    0.0123456 / 60 = 0.0493824 -> 0.04938; per increment 0.012345 -> 0.01235; x 4 =
    0.0494; + 0.075 = 0.1244:

    >>> m = 60 * 1_000_000_000
    >>> call_cost(181 * 1_000_000_000, [(0, Decimal("0.0123456"), m, m, Decimal("0.075"))])
    Decimal('0.1244')
    """
    if usage <= 0:
        return Decimal(0)
    ivs = sorted(intervals, key=lambda iv: iv[0])
    if not ivs or ivs[0][0] != 0:
        raise LabkitError("the rate has no interval starting at 0s", "Rates.csv",
                          "give every rate a row with GroupIntervalStart 0s")
    total, t = Decimal(0), 0
    with localcontext(_WIDE):
        while t < usage:
            start, rate, unit, incr, _fee = _interval(ivs, t)
            nxt = next((iv[0] for iv in ivs if iv[0] > t), None)
            span = (min(usage, nxt) if nxt is not None else usage) - t
            incr, unit = incr or _NS, unit or _NS
            span = -(-span // incr) * incr
            n = span // incr
            ts_cost = cgrates_round(Decimal(span) * rate / Decimal(unit), global_decimals)
            each = cgrates_round(ts_cost / n, global_decimals)
            total += cgrates_round(each * n, global_decimals)
            t += span
        total += ivs[0][4]
        return cgrates_round(total, rounding_decimals, rounding_method)


def _intervals(rates, stored=None):
    """{rate_id: [(start, rate, unit, incr, fee)]}; with `stored`, the stored values
    (a rate with a refused row is left out)."""
    out: dict = {}
    refused = set()
    for i, r in enumerate(rates):
        if stored is None:
            rate, fee = Decimal(r.rate), Decimal(r.connect_fee)
        else:
            rate, fee = stored.iloc[i]["rate_stored"], stored.iloc[i]["connect_fee_stored"]
            if rate is None or fee is None:
                refused.add(r.rate_id)
                continue
        out.setdefault(r.rate_id, []).append((r.group_interval_start, rate, r.rate_unit,
                                              r.rate_increment, fee))
    return {k: v for k, v in out.items() if k not in refused}


def rate_cdrs(rates, cdrs, schemas=(CGRATES_SCHEMA, SEED_SCHEMA, SOUND_SCHEMA), *,
              strict: bool = True, stored=None, **rounding) -> "pd.DataFrame":
    """Every CDR's cost with the rates as written and as each schema stored them.

    Parameters
    ----------
    rates : list of Rate
    cdrs : list of Cdr
    schemas : sequence of str
        Types of ``tp_rates.rate`` to compare.
    strict : bool
        Strict sql_mode when storing.
    stored : dict of str to DataFrame, optional
        What a real database stored per schema (:func:`labkit.ops.mariadb.load_rates`),
        instead of the model :func:`store_rates`.
    **rounding
        rounding_decimals, rounding_method, global_decimals of :func:`call_cost`.

    Returns
    -------
    pandas.DataFrame
        origin_id, account, month, rate_id, usage_s [s], ``as written`` (cost with the
        CSV's digits), then one column per schema: the cost, or None when that schema
        refused the rate's row (the CDR cannot be rated).

    Raises
    ------
    LabkitError
        A CDR naming a RateID that Rates.csv does not define.

    References
    ----------
    cgrates engine/calldesc.go (GetCost); data/storage/mysql/create_tariffplan_tables.sql.

    Examples
    --------
    >>> from labkit import data
    >>> t = rate_cdrs(read_rates(data.path("rating_rates")), read_cdrs(data.path("rating_cdrs")))
    >>> str(t.loc[0, "as written"]), str(t.loc[0, "DECIMAL(10,4)"])
    ('0.1244', '0.1242')
    """
    import pandas as pd
    names = [str(parse_decimal_type(s)) for s in schemas]
    tables = {"as written": _intervals(rates)}
    for name in names:
        table = stored[name] if stored is not None else store_rates(rates, name, strict=strict)
        tables[name] = _intervals(rates, table)
    rows = []
    for c in cdrs:
        if c.rate_id not in tables["as written"]:
            raise LabkitError(f"RateID {c.rate_id!r} is not in Rates.csv", f"CDR {c.origin_id} (line {c.line})",
                              "rate every CDR with a RateID that Rates.csv defines")
        row = {"origin_id": c.origin_id, "account": c.account, "month": c.month,
               "rate_id": c.rate_id, "usage_s": c.usage / _NS}
        for name, ivs in tables.items():
            row[name] = call_cost(c.usage, ivs[c.rate_id], **rounding) if c.rate_id in ivs else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["origin_id", "account", "month", "rate_id", "usage_s",
                                       *tables])


def monthly_costs(costs) -> "pd.DataFrame":
    """Per month: the total billed as written and under each schema, and the differences.

    Parameters
    ----------
    costs : pandas.DataFrame
        :func:`rate_cdrs`.

    Returns
    -------
    pandas.DataFrame
        month, n_cdrs, ``as written``, per schema its total (CDRs it could rate), then
        ``<schema> - written`` (negative: the operator under-bills) and ``<schema>
        unrated`` (CDRs whose rate the schema refused) and ``<schema> unbilled`` (what
        those CDRs cost as written: revenue never billed).

    References
    ----------
    cgrates engine/calldesc.go (each CDR's cost); the monthly sum as an invoice would.

    Examples
    --------
    >>> from labkit import data
    >>> m = monthly_costs(rate_cdrs(read_rates(data.path("rating_rates")),
    ...                             read_cdrs(data.path("rating_cdrs"))))
    >>> list(m["month"])
    ['2026-01', '2026-02', '2026-03']
    """
    import pandas as pd
    schemas = [c for c in costs.columns[6:]]
    rows = []
    for month, g in costs.groupby("month", sort=True):
        row = {"month": month, "n_cdrs": len(g), "as written": sum(g["as written"], Decimal(0))}
        for s in schemas:
            ok = g[g[s].notna()]
            row[s] = sum(ok[s], Decimal(0))
            row[f"{s} - written"] = row[s] - sum(ok["as written"], Decimal(0))
            row[f"{s} unrated"] = int(g[s].isna().sum())
            row[f"{s} unbilled"] = sum(g.loc[g[s].isna(), "as written"], Decimal(0))
        rows.append(row)
    return pd.DataFrame(rows)


def as_text(table) -> "pd.DataFrame":
    """`table` with every Decimal written in fixed point (``0E-10`` -> ``0.0000000000``).

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A copy; other values unchanged.

    References
    ----------
    Python ``decimal`` module: format spec ``f`` never uses an exponent.

    Examples
    --------
    >>> import pandas as pd
    >>> as_text(pd.DataFrame({"x": [Decimal("0E-10"), None]}))["x"].tolist()
    ['0.0000000000', None]
    """
    import pandas as pd
    out = table.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = pd.Series([format(v, "f") if isinstance(v, Decimal) else v for v in out[c]],
                               index=out.index, dtype=object)
    return out
