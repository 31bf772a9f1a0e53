"""A real MariaDB, run as an ordinary process, to load a tariff the way CGrateS's StorDB does.

:class:`MariaDB` initialises a data directory in a folder you give, starts ``mariadbd``
on a Unix socket there (``--skip-networking``: no TCP port, no system service), talks
to it with the ``mariadb`` command-line client and stops the process it started, by its
PID. :func:`load_rates` inserts every rate row into a ``tp_rates`` table with the rate
column of your choice, one INSERT per row, and collects what the server kept and said
(SHOW WARNINGS, or the error that refused the row): the measurement that
:func:`labkit.ops.rating.store_rates` models.

The question it answers: "what does a real MariaDB keep of this tariff's rates in a
``DECIMAL(M,D)`` column, and what does it say about the digits it drops?".

References
----------
MariaDB Server documentation: "DECIMAL" (M digits in all, D after the point; values
with more digits are rounded, values beyond M-D integer digits are out of range),
"SQL_MODE" (``STRICT_TRANS_TABLES``: out of range is error 1264, otherwise the value is
clipped with a warning), "SHOW WARNINGS" and "mariadb-install-db". The table follows
CGrateS data/storage/mysql/create_tariffplan_tables.sql (``tp_rates``).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

from labkit.errors import LabkitError, ToolMissingError
from labkit.ops.rating import CONNECT_FEE_TYPE, _stored_frame, parse_decimal_type

__all__ = ["MariaDB", "mariadb_missing", "load_rates", "STRICT_MODE"]

STRICT_MODE = "STRICT_TRANS_TABLES"
_PROGRAMS = ("mariadb-install-db", "mariadbd", "mariadb")
_ERROR = re.compile(r"ERROR (\d+) \((\w+)\)(?: at line \d+)?: (.*)")


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def mariadb_missing() -> str | None:
    """Why a MariaDB cannot be started here (a program missing), else None.

    Returns
    -------
    str or None

    References
    ----------
    Debian package mariadb-server (mariadb-install-db, mariadbd, mariadb).

    Examples
    --------
    >>> mariadb_missing() is None or "mariadb-server" in mariadb_missing()
    True
    """
    missing = [p for p in _PROGRAMS if _which(p) is None]
    if missing:
        return f"{', '.join(missing)} not found: apt-get install mariadb-server"
    return None


class MariaDB:
    """A private MariaDB server in `workdir` (data, socket, pid file and log there).

    Use it as a context manager; :meth:`stop` ends only the process :meth:`start`
    launched. Runs as the current user (``--user`` of that name, root included).

    Parameters
    ----------
    workdir : str or Path
        An empty or new folder; keep its path short (a Unix socket path is limited to
        107 bytes).

    Attributes
    ----------
    socket : Path
        The server's Unix socket, ``workdir/mysqld.sock``.
    version : str
        ``SELECT VERSION()`` once started ("" before).

    References
    ----------
    MariaDB Server documentation: "mariadb-install-db", "mariadbd Options"
    (``--skip-networking``, ``--socket``), "mariadb Command-Line Client" (``--batch``,
    ``--skip-column-names``). unix(7): ``sun_path`` holds 108 bytes with the final NUL.

    Examples
    --------
    Nothing runs until :meth:`start` (or ``with``); :func:`load_rates` shows a real
    server (Debian's mariadb-server, which tools/setup.sh installs) at work:

    >>> db = MariaDB("/tmp/lkt-example")
    >>> db.socket.name, db.proc, db.version
    ('mysqld.sock', None, '')
    >>> db.stop()  # a no-op: it stops only a server it started
    """

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.socket = self.workdir / "mysqld.sock"
        self.proc: subprocess.Popen | None = None
        self.version = ""

    def start(self, timeout: float = 60.0) -> "MariaDB":
        """Initialise the data directory and start the server; wait until it answers.

        Parameters
        ----------
        timeout : float
            Longest wait for the first answer [s].

        Returns
        -------
        MariaDB
            This server, started (:attr:`version` set).
        """
        reason = mariadb_missing()
        if reason:
            raise ToolMissingError(reason, "labkit.ops.mariadb", "install MariaDB or use the model")
        import getpass
        user = getpass.getuser()
        data = self.workdir / "data"
        self.workdir.mkdir(parents=True, exist_ok=True)
        init = subprocess.run([_which("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
                               f"--user={user}", "--auth-root-authentication-method=normal",
                               "--skip-test-db"], capture_output=True, text=True)
        if init.returncode != 0:
            raise LabkitError(f"mariadb-install-db failed: {init.stderr.strip()[-300:]}",
                              str(data), "check the folder is writable and empty")
        self.proc = subprocess.Popen(
            [_which("mariadbd"), "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             "--skip-networking", f"--user={user}", f"--pid-file={self.workdir / 'mysqld.pid'}",
             f"--log-error={self.workdir / 'error.log'}", "--innodb-buffer-pool-size=16M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabkitError("mariadbd exited at start", str(self.workdir / "error.log"),
                                  "read the error log")
            if self.socket.exists() and self.query("SELECT VERSION()")[0] == 0:
                self.version = self.query("SELECT VERSION()")[1].strip()
                return self
            time.sleep(0.1)
        self.stop()
        raise LabkitError(f"mariadbd did not answer within {timeout} s", str(self.socket))

    def query(self, sql: str, database: str | None = None) -> tuple[int, str, str]:
        """Run `sql` (one or more statements) with the client: (exit status, stdout, stderr).

        Output is tab-separated without column names (``--batch --skip-column-names``).

        Parameters
        ----------
        sql : str
            Statements, separated by ``;``.
        database : str, optional
            Default database of the client.

        Returns
        -------
        tuple of (int, str, str)
            The client's exit status, stdout and stderr.
        """
        cmd = [_which("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot",
               "--batch", "--skip-column-names", "-e", sql]
        if database:
            cmd.insert(-2, database)
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def stop(self) -> None:
        """Stop the server this object started (SIGTERM to its PID, then wait)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "MariaDB":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _sql_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _table_sql(table: str, rate_type, fee_type) -> str:
    # the columns of CGrateS's tp_rates (data/storage/mysql/create_tariffplan_tables.sql)
    return (f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ("
            "id INT NOT NULL AUTO_INCREMENT, tpid VARCHAR(64) NOT NULL, tag VARCHAR(64) NOT NULL, "
            f"connect_fee {fee_type} NOT NULL, rate {rate_type} NOT NULL, "
            "rate_unit VARCHAR(16) NOT NULL, rate_increment VARCHAR(16) NOT NULL, "
            "group_interval_start VARCHAR(16) NOT NULL, PRIMARY KEY (id), "
            "UNIQUE KEY unique_tprate (tpid, tag, group_interval_start))")


def load_rates(server: MariaDB, rates, rate_type, *, strict: bool = True,
               connect_fee_type=CONNECT_FEE_TYPE, database: str = "labkit_rating"):
    """Insert every rate row into a fresh ``tp_rates`` with ``rate`` of `rate_type`.

    Parameters
    ----------
    server : MariaDB
        A started server.
    rates : list of labkit.ops.rating.Rate
        The tariff's rate rows (:func:`labkit.ops.rating.read_rates`); the rate and the
        connect fee [currency units per rate unit, as written in Rates.csv] are sent as
        the text written, rate unit, increment and interval start as ``<n>ns``.
    rate_type, connect_fee_type : str or DecimalType
        Column types of ``rate`` and ``connect_fee`` (``"DECIMAL(10,4)"`` or ``"10,4"``).
    strict : bool
        ``sql_mode='STRICT_TRANS_TABLES'`` or ``sql_mode=''`` for the session.
    database : str
        Database created if absent; the table is ``tp_rates_<M>_<D>_<strict|loose>``,
        dropped and created anew.

    Returns
    -------
    pandas.DataFrame
        :data:`labkit.ops.rating.STORED_COLUMNS` as the server reported them: stored
        values read back with SELECT, the first SHOW WARNINGS row or the error.

    References
    ----------
    MariaDB Server documentation: "DECIMAL", "SHOW WARNINGS", "SQL_MODE"
    (``STRICT_TRANS_TABLES``); CGrateS data/storage/mysql/create_tariffplan_tables.sql.

    Examples
    --------
    The bundled tariff into a real MariaDB. ``DECIMAL(10,4)`` rounds to four places
    with a Note 1265; ``DECIMAL(10,10)`` keeps every digit but has no integer digit, so
    strict mode refuses 1.2345678 with error 1264 (what MariaDB answered, not the model):

    >>> import tempfile
    >>> from labkit import data
    >>> from labkit.ops.rating import read_rates
    >>> rates = read_rates(data.path("rating_rates"))
    >>> with tempfile.TemporaryDirectory(prefix="lkt") as tmp, MariaDB(tmp) as db:
    ...     answer = db.query("SELECT 6 * 7")
    ...     four = load_rates(db, rates, "DECIMAL(10,4)")
    ...     ten = load_rates(db, rates, "DECIMAL(10,10)")
    >>> answer
    (0, '42\\n', '')
    >>> row = four.iloc[0]
    >>> row.rate_id, row.rate_written, row.rate_stored, row.level, row.code
    ('RT_AU_FIXED', '0.0123456', Decimal('0.0123'), 'Note', 1265)
    >>> row.message
    "Data truncated for column 'rate' at row 1"
    >>> row = ten.iloc[5]
    >>> row.rate_id, row.rate_stored, row.level, row.code, row.message
    ('RT_PACIFIC', None, 'Error', 1264, "Out of range value for column 'rate' at row 1")
    >>> ten.rate_stored.iloc[3]
    Decimal('0.0002057610')
    """
    rt, ft = parse_decimal_type(rate_type), parse_decimal_type(connect_fee_type)
    table = f"tp_rates_{rt.precision}_{rt.scale}_{'strict' if strict else 'loose'}"
    rc, _, err = server.query(f"CREATE DATABASE IF NOT EXISTS {database}; USE {database}; "
                              + _table_sql(table, rt, ft))
    if rc != 0:
        raise LabkitError(f"cannot create {table}: {err.strip()}", database)
    mode = STRICT_MODE if strict else ""
    rows = [_insert(server, database, table, mode, r, rt) for r in rates]
    return _stored_frame(rows)


def _insert(server, database, table, mode, r, rt) -> dict:
    sql = (f"SET SESSION sql_mode='{mode}'; INSERT INTO {table} (tpid, tag, connect_fee, rate, "
           f"rate_unit, rate_increment, group_interval_start) VALUES ('labkit', {_sql_text(r.rate_id)}, "
           f"{_sql_text(r.connect_fee)}, {_sql_text(r.rate)}, '{r.rate_unit}ns', "
           f"'{r.rate_increment}ns', '{r.group_interval_start}ns'); SHOW WARNINGS; "
           "SELECT 'stored', connect_fee, rate FROM " + table + " WHERE id = LAST_INSERT_ID()")
    rc, out, err = server.query(sql, database)
    level = code = None
    message, fee, rate = "", None, None
    if rc != 0:
        m = _ERROR.search(err)
        if not m:
            raise LabkitError(f"unexpected client error: {err.strip()}", f"rate {r.rate_id}")
        level, code, message = "Error", int(m.group(1)), m.group(3).strip()
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] == "stored":
            fee, rate = Decimal(parts[1]), Decimal(parts[2])
        elif len(parts) == 3 and level is None:
            level, code, message = parts[0], int(parts[1]), parts[2]
    return {"schema": str(rt), "strict": mode != "", "rate_id": r.rate_id,
            "group_interval_start_s": r.group_interval_start / 1e9, "rate_written": r.rate,
            "rate_stored": rate, "connect_fee_written": r.connect_fee, "connect_fee_stored": fee,
            "level": level, "code": code, "message": message}
