"""``labkit rating``: what a DECIMAL(M,D) rate column keeps of a CGrateS tariff, and what it costs.

    labkit rating Rates.csv cdrs.csv
    labkit rating Rates.csv cdrs.csv --schema "DECIMAL(10,4)" "DECIMAL(20,10)" --json
    labkit rating Rates.csv cdrs.csv --loose --live

For each schema of ``tp_rates.rate``: every rate row as stored (value, Note/Warning/Error
with MariaDB's code), then every CDR's cost with the rates as written and as stored
(CGrateS's rules), and the totals per month. ``--live`` loads the tariff into a private
MariaDB (started in a temporary folder, stopped at the end) instead of the model.
"""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    """Add ``rating`` to the labkit command line."""
    p = subparsers.add_parser("rating", help="did the rating database round my rates?",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("rates", metavar="RATES.csv", help="CGrateS Rates.csv")
    p.add_argument("cdrs", metavar="CDRS.csv", help="CSV with OriginID,RateID,Usage[,AnswerTime]")
    p.add_argument("--schema", nargs="+", metavar="TYPE",
                   default=["DECIMAL(10,4)", "DECIMAL(10,10)", "DECIMAL(20,10)"],
                   help="types of tp_rates.rate to compare (default: CGrateS's, the seed's, a sound one)")
    p.add_argument("--loose", action="store_true", help="sql_mode='' instead of strict")
    p.add_argument("--decimals", type=int, default=4, help="RoundingDecimals (default 4)")
    p.add_argument("--method", default="*up", choices=["*up", "*down", "*middle"],
                   help="RoundingMethod (default *up)")
    p.add_argument("--live", action="store_true", help="store the rates in a real MariaDB")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    p.set_defaults(func=run)


def _stored(rates, schemas, strict, live):
    from labkit.ops import rating
    if not live:
        return {s: rating.store_rates(rates, s, strict=strict) for s in schemas}, "model"
    import tempfile
    from labkit.ops import mariadb
    with tempfile.TemporaryDirectory(prefix="lkt-db-") as tmp, mariadb.MariaDB(tmp) as db:
        stored = {s: mariadb.load_rates(db, rates, s, strict=strict) for s in schemas}
        return stored, f"MariaDB {db.version}"


def run(args) -> int:
    from labkit.ops import rating
    schemas = [str(rating.parse_decimal_type(s)) for s in args.schema]
    rates, cdrs = rating.read_rates(args.rates), rating.read_cdrs(args.cdrs)
    stored, source = _stored(rates, schemas, not args.loose, args.live)
    costs = rating.rate_cdrs(rates, cdrs, schemas, stored=stored, rounding_decimals=args.decimals,
                             rounding_method=args.method)
    monthly = rating.monthly_costs(costs)
    if args.json:
        print_json({"stored_by": source, "strict": not args.loose,
                    "stored": {s: rating.as_text(t) for s, t in stored.items()},
                    "costs": rating.as_text(costs), "monthly": rating.as_text(monthly)})
        return 0
    print(f"stored by: {source}; sql_mode {'strict' if not args.loose else 'not strict'}")
    for s, table in stored.items():
        print(f"\n{s}:")
        for r in rating.as_text(table).itertuples():
            said = f"{r.level} {r.code}: {r.message}" if r.level else "stored exactly"
            print(f"  {r.rate_id:<16} from {r.group_interval_start_s:>5g} s  rate {r.rate_written:>14}"
                  f" -> {r.rate_stored or 'refused':<22} fee {r.connect_fee_written} -> "
                  f"{r.connect_fee_stored or 'refused'}  ({said})")
    print("\ncosts per CDR (None: the schema refused the rate):")
    print(rating.as_text(costs).to_string(index=False))
    print("\nper month:")
    print(rating.as_text(monthly).to_string(index=False))
    return 0
