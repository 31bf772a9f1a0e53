"""Regenerate data/rating/: a CGrateS tariff (Rates.csv) and CDRs for notebook 13.

    python -m tools.rating.make

Both files are invented for labkit (no real operator's tariff): the rates are written
with as many decimals as a wholesale price list carries (per minute and per second),
two of them are 1 or more per minute (a satellite and a Pacific destination, which
DECIMAL(10,10) cannot hold), one has 11 nines (it rounds up to 1 in DECIMAL(10,10)),
one connect fee has five decimals (DECIMAL(7,4) rounds it). The CDRs are drawn with a
seeded random generator (seed 13) over January to March 2026; the first is the seed
post's 181 s call, one has zero usage. Deterministic: the same files on every run.
"""
from __future__ import annotations

from tools.manifest import add_how_made
import csv
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "rating"
MADE_BY = "python -m tools.rating.make"

RATES = [  # Id, ConnectFee, Rate, RateUnit, RateIncrement, GroupIntervalStart
    ("RT_AU_FIXED", "0.075", "0.0123456", "60s", "60s", "0s"),
    ("RT_AU_MOBILE", "0.075", "0.1478125", "60s", "30s", "0s"),
    ("RT_AU_MOBILE", "0", "0.0739062", "60s", "1s", "60s"),
    ("RT_PER_SECOND", "0", "0.000205761", "1s", "1s", "0s"),
    ("RT_UK", "0.12345", "0.0287333", "60s", "60s", "0s"),
    ("RT_PACIFIC", "0.5", "1.2345678", "60s", "60s", "0s"),
    ("RT_SATELLITE", "1.25", "4.56789", "60s", "6s", "0s"),
    ("RT_NEAR_ONE", "0", "0.99999999999", "60s", "60s", "0s"),
    ("RT_TOLLFREE", "0", "0", "60s", "60s", "0s"),
]
WEIGHTS = {"RT_AU_FIXED": 8, "RT_AU_MOBILE": 8, "RT_PER_SECOND": 5, "RT_UK": 3,
           "RT_PACIFIC": 2, "RT_SATELLITE": 1, "RT_NEAR_ONE": 1, "RT_TOLLFREE": 2}
N_CDRS = 36


def _usage(rng: random.Random, i: int) -> str:
    seconds = int(rng.expovariate(1 / 150)) + 1
    if i % 4 == 0:
        return str(seconds)                      # plain seconds
    m, s = divmod(seconds, 60)
    return f"{m}m{s}s" if m and i % 3 == 0 else f"{seconds}s"


def cdr_rows() -> list[list[str]]:
    rng = random.Random(13)
    ids = list(WEIGHTS)
    rows = [["cdr-001", "1002", "RT_AU_FIXED", "2026-01-05 13:07:39", "181s"]]
    for i in range(2, N_CDRS + 1):
        month = 1 + (i - 1) * 3 // N_CDRS
        day, hour, minute = rng.randint(1, 28), rng.randint(7, 21), rng.randint(0, 59)
        rate = rng.choices(ids, weights=[WEIGHTS[k] for k in ids])[0]
        usage = "0s" if i == 17 else _usage(rng, i)
        rows.append([f"cdr-{i:03d}", rng.choice(["1001", "1002", "1003"]), rate,
                     f"2026-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00", usage])
    return rows


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "Rates.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["#Id", "ConnectFee", "Rate", "RateUnit", "RateIncrement", "GroupIntervalStart"])
        w.writerows(RATES)
    with open(OUT / "cdrs.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["OriginID", "Account", "RateID", "AnswerTime", "Usage"])
        w.writerows(cdr_rows())
    rows = [("rating_rates", "Rates.csv",
             "CGrateS tariff-plan Rates.csv written for labkit (invented, not an operator's): "
             f"{len(RATES)} rate intervals of {len(WEIGHTS)} rates with many-decimal rates per "
             "minute and per second, two rates >= 1 per minute, one of 0.99999999999, one "
             "connect fee with 5 decimals"),
            ("rating_cdrs", "cdrs.csv",
             f"{N_CDRS} CDRs (OriginID, Account, RateID, AnswerTime, Usage) drawn by a seeded "
             "random generator (seed 13) over 2026-01..2026-03; cdr-001 is the seed post's "
             "181 s call; Usage as Go durations or plain seconds; one zero-usage CDR")]
    with open(OUT / "MANIFEST.tsv", "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["name", "file", "made_by", "description"])
        for name, file, desc in rows:
            w.writerow([name, file, MADE_BY, desc])
    add_how_made(OUT / "MANIFEST.tsv", "synthetic builder: an invented tariff and seeded CDRs "
                 "(tools.rating.make)")
    print(f"wrote {len(rows)} entries to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
