"""labkit.ops.rating: DECIMAL(M,D) storage rules and CGrateS cost rules, checked by hand.

The live comparison with a real MariaDB is in test_mariadb.py.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from labkit import data
from labkit.errors import LabkitError
from labkit.ops import rating

S, M = 1_000_000_000, 60_000_000_000
D = Decimal


def _rates():
    return rating.read_rates(data.path("rating_rates"))


def _cdrs():
    return rating.read_cdrs(data.path("rating_cdrs"))


@pytest.mark.parametrize("text,ns", [("60s", 60 * S), ("1m30s", 90 * S), ("500ms", S // 2),
                                     ("1h", 3600 * S), ("0s", 0), ("0", 0), ("1.5s", 3 * S // 2),
                                     ("1", 1)])
def test_go_durations(text, ns):
    assert rating.parse_go_duration(text) == ns


def test_bare_usage_is_seconds_for_cdrs():
    assert rating.parse_go_duration("181", bare="s") == 181 * S


@pytest.mark.parametrize("bad", ["", "sixty", "60x", "1m30", "s"])
def test_bad_duration_names_the_place(bad):
    with pytest.raises(LabkitError, match="Rates.csv, line 3"):
        rating.parse_go_duration(bad, where="Rates.csv, line 3")


def test_decimal_type_is_digits_in_all_and_after_the_point():
    # DECIMAL(10,4): 10 digits in all, 4 after the point -> 6 before it
    assert rating.parse_decimal_type("DECIMAL(10,4)").max_value == D("999999.9999")
    # DECIMAL(10,10): no integer digit
    assert rating.parse_decimal_type("decimal(10, 10)").max_value == D("0.9999999999")
    for bad in ("DECIMAL(4,10)", "DECIMAL(66,2)", "FLOAT", "10"):
        with pytest.raises(LabkitError, match="DECIMAL"):
            rating.parse_decimal_type(bad)


@pytest.mark.parametrize("text,column_type,value,level,code", [
    ("0.00123456", "DECIMAL(10,4)", "0.0012", "Note", 1265),      # REFERENCE.md 8 [ran]
    ("0.00005", "DECIMAL(10,4)", "0.0001", "Note", 1265),         # half up
    ("0.00004999", "DECIMAL(10,4)", "0.0000", "Note", 1265),
    ("-0.00005", "DECIMAL(10,4)", "-0.0001", "Note", 1265),       # half away from zero
    ("0.0123", "DECIMAL(10,4)", "0.0123", None, None),
    ("999999.9999", "DECIMAL(10,4)", "999999.9999", None, None),
    ("1000000", "DECIMAL(10,4)", None, "Error", 1264),
    ("1.5", "DECIMAL(10,10)", None, "Error", 1264),
    ("1", "DECIMAL(10,10)", None, "Error", 1264),
    ("0.99999999995", "DECIMAL(10,10)", None, "Error", 1264),     # rounds to 1
    ("0.999999999949", "DECIMAL(10,10)", "0.9999999999", "Note", 1265),
    ("abc", "DECIMAL(10,4)", None, "Error", 1366),
])
def test_store_decimal_strict(text, column_type, value, level, code):
    s = rating.store_decimal(text, column_type)
    assert (s.value, s.level, s.code) == (None if value is None else D(value), level, code)


@pytest.mark.parametrize("text,value,code", [("1.5", "0.9999999999", 1264),
                                             ("-3", "-0.9999999999", 1264),
                                             ("abc", "0", 1366)])
def test_store_decimal_not_strict_clips(text, value, code):
    s = rating.store_decimal(text, "DECIMAL(10,10)", strict=False)
    assert (s.value, s.level, s.code) == (D(value), "Warning", code)


def test_every_rate_of_one_or_more_is_refused_by_decimal_10_10():
    table = rating.store_rates(_rates(), rating.SEED_SCHEMA)
    big = table[[D(r) >= 1 or D(r).quantize(D("1e-10")) >= 1 for r in table["rate_written"]]]
    assert len(big) == 3
    assert set(big["code"]) == {1264} and big["rate_stored"].isna().all()


def test_cgrates_round_methods():
    assert rating.cgrates_round(D("0.12341"), 4, "*up") == D("0.1235")
    # *up leaves a remainder below 1e-7 of a unit (CGrateS's float-noise cut-off)
    assert rating.cgrates_round(D("0.123400000001"), 4, "*up") == D("0.1234")
    assert rating.cgrates_round(D("0.12345"), 4, "*middle") == D("0.1235")
    assert rating.cgrates_round(D("0.123449"), 4, "*middle") == D("0.1234")
    assert rating.cgrates_round(D("0.12349"), 4, "*down") == D("0.1234")
    with pytest.raises(LabkitError, match="rounding method"):
        rating.cgrates_round(D("1"), 4, "*banker")


def test_cost_of_the_seed_call_by_hand():
    # 181 s at 0.0123456 per 60 s, increment 60 s -> 240 s; 240*0.0123456/60 = 0.0493824
    # -> 0.04938 (5 decimals, *middle); 4 increments of 0.012345 -> 0.01235; 4*0.01235 =
    # 0.0494; + connect fee 0.075 = 0.1244; *up to 4 decimals: 0.1244.
    iv = [(0, D("0.0123456"), M, M, D("0.075"))]
    assert rating.call_cost(181 * S, iv) == D("0.1244")
    # stored as DECIMAL(10,4): 0.0123 -> 240*0.0123/60 = 0.0492 + 0.075 = 0.1242
    iv = [(0, D("0.0123"), M, M, D("0.0750"))]
    assert rating.call_cost(181 * S, iv) == D("0.1242")


def test_cost_across_two_intervals_by_hand():
    # RT_AU_MOBILE, 86 s. [0, 60 s): 30 s increments -> 60 s, 60*0.1478125/60 = 0.1478125
    # -> 0.14781; /2 = 0.073905 -> 0.07391; *2 = 0.14782. [60 s, 86 s): 1 s increments,
    # 26*0.0739062/60 = 0.03202602 -> 0.03203; /26 = 0.0012319 -> 0.00123; *26 = 0.03198.
    # 0.14782 + 0.03198 + 0.075 = 0.2548.
    iv = [(0, D("0.1478125"), M, 30 * S, D("0.075")), (M, D("0.0739062"), M, S, D("0"))]
    assert rating.call_cost(86 * S, iv) == D("0.2548")


def test_per_second_rate_is_rounded_per_increment():
    # 151 s at 0.000205761 per 1 s: 0.031069911 -> 0.03107; /151 -> 0.00020576 -> 0.00021
    # (5 decimals); *151 = 0.03171 -> *up: 0.0318. With 10 global decimals: 0.031069911
    # -> per increment 0.000205761 exactly -> 0.031069911 -> *up: 0.0311.
    iv = [(0, D("0.000205761"), S, S, D("0"))]
    assert rating.call_cost(151 * S, iv) == D("0.0318")
    assert rating.call_cost(151 * S, iv, global_decimals=10) == D("0.0311")


def test_zero_usage_costs_nothing_and_rate_needs_a_first_interval():
    iv = [(0, D("1"), M, M, D("0.5"))]
    assert rating.call_cost(0, iv) == 0
    with pytest.raises(LabkitError, match="0s"):
        rating.call_cost(S, [(M, D("1"), M, M, D("0"))])


def test_rate_cdrs_marks_unrated_cdrs_and_months_add_up():
    costs = rating.rate_cdrs(_rates(), _cdrs())
    seed = costs[costs["rate_id"].isin(["RT_PACIFIC", "RT_SATELLITE", "RT_NEAR_ONE"])]
    assert seed["DECIMAL(10,10)"].isna().all() and seed["DECIMAL(20,10)"].notna().all()
    monthly = rating.monthly_costs(costs)
    assert monthly["n_cdrs"].sum() == len(costs) == 36
    assert sum(monthly["as written"], D(0)) == sum(costs["as written"], D(0))
    assert monthly["DECIMAL(10,10) unrated"].sum() == len(seed)


def test_bad_csv_input_names_row_and_field(tmp_path):
    f = tmp_path / "Rates.csv"
    f.write_text("#Id,ConnectFee,Rate,RateUnit\nRT,0,0.1,60s\n")
    with pytest.raises(LabkitError, match="missing column.*RateIncrement"):
        rating.read_rates(f)
    f.write_text("#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart\n"
                 "RT,0,zero point one,60s,60s,0s\n")
    with pytest.raises(LabkitError, match=r"Rates.csv, line 2, Rate"):
        rating.read_rates(f)
    c = tmp_path / "cdrs.csv"
    c.write_text("OriginID,RateID,Usage\nx,RT_NOPE,60s\n")
    with pytest.raises(LabkitError, match="RT_NOPE"):
        rating.rate_cdrs(_rates(), rating.read_cdrs(c))
    c.write_text("OriginID,RateID,Usage\nx,RT_AU_FIXED,a minute\n")
    with pytest.raises(LabkitError, match="line 2, Usage"):
        rating.read_cdrs(c)
