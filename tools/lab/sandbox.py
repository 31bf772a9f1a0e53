"""A throw-away place to run real software: temp dir, optional network namespaces, processes.

Every process is started here (wrapped in ``timeout -k`` so it can never outlive its
budget), its PID kept, and stopped by PID when the sandbox closes, also on failure.

With ``hosts={"alice": "10.0.0.1", ...}`` each host gets its own network namespace with
one veth interface (MAC 02:00:00:00:00:NN, the address in 10.0.0.0/24) plugged into a
bridge ``br0`` in a hub namespace; a capture on br0 (promiscuous) sees every frame.
Processes run in a host's namespace (``host="alice"``) or in the hub (``host=None``).
Namespaces and the temp dir are deleted on close.

    with Sandbox(hosts={"alice": "10.0.0.1", "bob": "10.0.0.2"}) as sb:
        p = sb.start("dumpcap", ["dumpcap", ...], budget=30)
        ...
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

_COUNTER = iter(range(1_000_000))


class Sandbox:
    """Temp dir + optional namespace + the processes started in them (stopped by PID)."""

    def __init__(self, *, hosts: dict[str, str] | None = None, keep: bool = False):
        self.hosts = dict(hosts or {})
        self.keep = keep
        self.ns: str | None = None   # hub namespace (None: run on the host's loopback)
        self.dir: Path | None = None
        self.procs: list[tuple[str, subprocess.Popen]] = []

    # -- lifetime ----------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.dir = Path(tempfile.mkdtemp(prefix="labkit-lab-"))
        try:
            if self.hosts:
                self._make_netns()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process (reverse start order), delete namespace and temp dir."""
        for name, proc in reversed(self.procs):
            self.stop(proc)
        if self.ns:
            for ns in [self.ns] + [self._host_ns(h) for h in self.hosts]:
                subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
            self.ns = None
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _host_ns(self, host: str) -> str:
        return f"{self.ns}-{host}"

    def _make_netns(self) -> None:
        self.ns = f"lk{os.getpid()}x{next(_COUNTER)}"
        ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True)  # noqa: E731
        ip("netns", "add", self.ns)
        ip("-n", self.ns, "link", "set", "lo", "up")
        ip("-n", self.ns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.ns, "link", "set", "br0", "up")
        for i, (host, addr) in enumerate(self.hosts.items(), start=1):
            ns = self._host_ns(host)
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", self.ns, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.ns, "link", "set", f"p{i}", "master", "br0", "up")
            ip("-n", ns, "link", "set", "eth0", "address", f"02:00:00:00:00:{i:02x}")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    # -- processes ---------------------------------------------------------------------
    def _wrap(self, cmd: list[str], host: str | None) -> list[str]:
        if not self.ns:
            return cmd
        return ["ip", "netns", "exec", self._host_ns(host) if host else self.ns, *cmd]

    def start(self, name: str, argv: list[str], *, budget: float, host: str | None = None) -> subprocess.Popen:
        """Start `argv` in `host`'s namespace (hub if None) for at most `budget` [s]; log to DIR/name.log."""
        cmd = self._wrap(["timeout", "-k", "3", f"{budget:g}", *argv], host)
        log = open(self.dir / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.dir, start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def run(self, argv: list[str], *, budget: float = 20, host: str | None = None) -> subprocess.CompletedProcess:
        """Run a short command to completion (in `host`'s namespace, hub if None)."""
        cmd = self._wrap(["timeout", "-k", "2", f"{budget:g}", *argv], host)
        return subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)

    @staticmethod
    def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 4.0) -> None:
        """Signal our own process `proc` by PID, then SIGKILL its process group after `grace` [s]."""
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
                proc.wait(timeout=grace)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group we created (start_new_session)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def log(self, name: str) -> str:
        """Text of DIR/name.log (empty when absent)."""
        p = self.dir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout: float = 10.0) -> None:
        """Sleep-poll (0.1 s) until `text` appears in the log of process `name`;
        RuntimeError (with the log's tail) on timeout or when that process has exited."""
        proc = dict(self.procs).get(name)
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) before {text!r}; log:\n{self.log(name)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: {text!r} not seen in {timeout} s; log:\n{self.log(name)[-2000:]}")
            time.sleep(0.1)
