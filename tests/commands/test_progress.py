"""Progress bars of the commands that read captures (labkit.capture.show_progress).

Oracle: tqdm's own text bar on stderr ("NN%|...|"), looked for in the stderr of the real
command. A big input makes one; the bundled captures (all under 50 MiB) make none. The
size rule's threshold is lowered through ``$LABKIT_PROGRESS_BYTES`` so that the bundled
files count as big, rather than writing a 50 MiB file per command.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

D = REPO / "data"
BAR = re.compile(r"\d+%\|")

COMMANDS = {
    "streams": ["streams", D / "lab/relay_rtpengine.pcap"],
    "jitter": ["jitter", "--json", D / "jitter/jitter_host_egress.pcap"],
    "jitter-two": ["jitter", D / "jitter/jitter_host_egress.pcap", D / "jitter/jitter_host_ingress.pcap"],
    "overview": ["overview", D / "lab/relay_rtpengine.pcap"],
    "flow": ["flow", D / "flow/flow_sec_agree_420.pcap"],
    "ussd": ["ussd", D / "flow/ussd_in_dialog.pcap"],
    "sms": ["sms", D / "sms/sms_mo_submit.pcap"],
    "overhead": ["overhead", D / "sms/sms_mo_submit.pcap"],
    "auth": ["auth", D / "auth/register_digest_ok.pcap"],
    "codecs": ["codecs", D / "lab/codec_mismatch_488.pcap"],
    "ringback": ["ringback", D / "lab/ringback_amrwb.pcap"],
    "doctor": ["doctor", D / "lab/relay_rtpengine.pcap"],
    "metrics": ["metrics", D / "ops/kamailio_metrics.prom", "--capture", D / "ops/kamailio_burst.pcapng"],
    "fleet": ["fleet", "--serial", D / "fleet"],
}


def _run(args, tmp_path, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("LABKIT_PROGRESS", "LABKIT_PROGRESS_BYTES")}
    return subprocess.run([sys.executable, "-m", "labkit.cli", *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True, env={**base, **env}, timeout=300)


def _present(args):
    if not all(p.exists() for p in args if hasattr(p, "exists") and D in p.parents):
        pytest.skip("bundled data not generated")


@pytest.mark.parametrize("name", list(COMMANDS) + ["amr"])
def test_big_input_shows_a_bar_small_none(name, tmp_path):
    args = COMMANDS.get(name) or ["amr", "extract", "-i", D / "lab/ringback_amrwb.pcap",
                                  "-o", tmp_path / "out.awb", "--stream", "0"]
    _present(args)
    small = _run(args, tmp_path)
    assert not BAR.search(small.stderr), small.stderr
    big = _run(args, tmp_path, LABKIT_PROGRESS_BYTES="1000")   # every bundled file is over 1 kB
    assert BAR.search(big.stderr), (big.returncode, big.stderr[-500:])
    assert big.stdout == small.stdout and big.returncode == small.returncode
    # "0" (what the test suite and notebooks under nbval run with): none, whatever the size
    quiet = _run(args, tmp_path, LABKIT_PROGRESS="0", LABKIT_PROGRESS_BYTES="1000")
    assert not BAR.search(quiet.stderr)
