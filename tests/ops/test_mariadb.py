"""The model of DECIMAL storage against a real MariaDB (started here, stopped by PID)."""
from __future__ import annotations

import tempfile
from decimal import Decimal

import pytest

from labkit import data
from labkit.ops import mariadb, rating

pytestmark = pytest.mark.skipif(mariadb.mariadb_missing() is not None,
                                reason=str(mariadb.mariadb_missing()))

EDGES = ["0.00005", "0.00004999", "-0.00005", "0.0123", "999999.9999", "1000000", "1", "1.5",
         "0.99999999995", "0.999999999949", "12345678.9", "-3", "0.000205761", " 0.3", "0.3 "]


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="lkt") as tmp, mariadb.MariaDB(tmp) as db:
        yield db


def _rates():
    rates = rating.read_rates(data.path("rating_rates"))
    edges = [rating.Rate(f"RT_EDGE_{i}", "0.075", text, 60_000_000_000, 60_000_000_000, 0, 0)
             for i, text in enumerate(EDGES)]
    return rates + edges


COMPARED = ["rate_id", "rate_stored", "connect_fee_stored", "level", "code", "message"]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("schema", ["DECIMAL(10,4)", "DECIMAL(10,10)", "DECIMAL(20,10)", "DECIMAL(7,7)"])
def test_model_equals_what_mariadb_stored(server, schema, strict):
    rates = _rates()
    live = mariadb.load_rates(server, rates, schema, strict=strict)
    model = rating.store_rates(rates, schema, strict=strict)
    assert live[COMPARED].to_dict("records") == model[COMPARED].to_dict("records")


def test_strict_refuses_one_or_more_in_decimal_10_10(server):
    rates = _rates()
    live = mariadb.load_rates(server, rates, "DECIMAL(10,10)", strict=True, database="lkt_strict")
    big = live[[Decimal(r) >= 1 for r in live["rate_written"]]]
    assert len(big) >= 6
    assert set(big["code"]) == {1264} and set(big["level"]) == {"Error"}
    assert big["message"].str.startswith("Out of range value for column 'rate'").all()
    rc, out, _ = server.query("SELECT COUNT(*) FROM tp_rates_10_10_strict WHERE rate >= 0.99999",
                              "lkt_strict")
    # no refused row was inserted: only 0.999999999949 -> 0.9999999999 is that large
    assert rc == 0 and out.split() == ["1"]


def test_costs_from_mariadb_equal_the_model(server):
    rates = rating.read_rates(data.path("rating_rates"))
    cdrs = rating.read_cdrs(data.path("rating_cdrs"))
    schemas = ["DECIMAL(10,4)", "DECIMAL(10,10)", "DECIMAL(20,10)"]
    stored = {s: mariadb.load_rates(server, rates, s, database="lkt_costs") for s in schemas}
    live = rating.rate_cdrs(rates, cdrs, schemas, stored=stored)
    model = rating.rate_cdrs(rates, cdrs, schemas)
    assert live.to_dict("records") == model.to_dict("records")
