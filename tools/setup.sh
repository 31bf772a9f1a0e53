#!/usr/bin/env bash
# One-time, idempotent set-up for `make lab` and `make test`:
#  1. the Debian/Ubuntu packages labkit needs (installed with apt when run as root,
#     otherwise one message saying exactly what to install);
#  2. a virtual environment in .venv with `pip install -e .[lab,test,fleet]`.
# A second run checks and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# tshark/sharkd: the Wireshark oracle and the signalling view.
# baresip-core, kamailio, rtpengine-daemon: the real-software lab (tools/lab).
# libvo-amrwbenc0: the AMR-WB encoder used by the synthetic capture builder.
# chromium: the browser test of `make lab`.
# espeak-ng: the spoken caller source of the real-software lab captures (tools/lab).
# sip-tester (SIPp), sngrep, prometheus: HEP and metrics lab of notebooks 10/11 (tools/ops).
# mariadb-server: the real StorDB of notebook 13 (tests start it as a process in a tmp dir).
# sip-tester: SIPp, the scripted B-leg peers of the FreeSWITCH timer captures (tools/timers),
#   and the UE/AS/USSD-gateway ends of the call flows of notebooks 06/07 (tools/lab/sipflow).
PACKAGES="tshark wireshark-common baresip-core kamailio kamailio-extra-modules rtpengine-daemon libvo-amrwbenc0 chromium espeak-ng mariadb-server sip-tester sngrep prometheus"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "setup: installing system packages:$missing"
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "setup: missing system packages:$missing" >&2
        echo "setup: run: sudo apt-get install -y$missing   (then run make again)" >&2
        exit 1
    fi
fi

# npm hep-js: the independent HEP3 decoder tests/ops uses (tools/hepjs/node_modules,
# not committed); skipped quietly when node/npm are absent (those tests then skip).
if command -v npm >/dev/null 2>&1 && [ ! -d tools/hepjs/node_modules/hep-js ]; then
    (cd tools/hepjs && npm install --no-audit --no-fund --silent >/dev/null 2>&1) \
        || echo "setup: npm install in tools/hepjs failed (hep-js tests will skip)" >&2
fi

PY=${PYTHON:-python3}
stamp=.venv/.labkit-stamp
want=$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
    exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[lab,test,fleet]"
# Byte-compile labkit as a regular install would (an editable install does not, and some
# environments set PYTHONDONTWRITEBYTECODE): the command line starts ~40 ms faster.
.venv/bin/python -m compileall -q labkit tools >/dev/null
# JupyterLab: no news or update checks (no internet needed, no pop-up for a newcomer).
mkdir -p .venv/share/jupyter/lab/settings
cat > .venv/share/jupyter/lab/settings/overrides.json <<'JSON'
{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}
JSON
echo "$want" > "$stamp"
echo "setup: .venv ready"
