"""``labkit timers``: text and --json carry the same facts."""
from __future__ import annotations

import json

from labkit import cli, data


def test_timers_json_and_text_agree(capsys):
    path = str(data.path("timers_no_answer"))
    dial = data.path("timers_no_answer_vars").read_text().strip()
    assert cli.main(["timers", path, "--vars", dial, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    leg = doc["legs"][0]
    assert (leg["fired"], leg["cause"], leg["sip_to_caller"]) == ("originate_timeout", "NO_ANSWER", 480)
    assert doc["settings"]["originate_timeout"] == 6
    assert cli.main(["timers", path, "--vars", dial]) == 0
    text = capsys.readouterr().out
    assert "fired: originate_timeout -> NO_ANSWER" in text and "answers the caller 480" in text


def test_timers_reads_a_cdr(tmp_path, capsys):
    cdr = tmp_path / "cdr.xml"
    cdr.write_text("<cdr><variables><last_bridge_hangup_cause>NO_ANSWER</last_bridge_hangup_cause>"
                   "</variables></cdr>\n")
    assert cli.main(["timers", str(cdr), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["causes"][0]["value"] == "NO_ANSWER"


def test_timers_bad_vars(capsys):
    code = cli.main(["timers", str(data.path("timers_no_answer")), "--vars", "ringtime=5"])
    assert code == 2 and "unknown variable" in capsys.readouterr().err
