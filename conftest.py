"""Root of every test ``make test`` runs (tests/, labkit/ doctests, notebooks/ by nbval).

- Doctests in labkit/ (``--doctest-modules``) draw without a screen.
- ``make test`` runs the tests on ``JOBS`` pytest-xdist workers (``-n auto --dist loadgroup``).
  Every test belongs to one group (:func:`group_of`, from its node id); a group runs on one
  worker, in collection order. The groups:

  ``live``
      tests that start real lab software on fixed ports or fixed network-namespace names
      (kamailio, baresip, rtpengine, sipp, prometheus; netns ``lkj-jitter``), or that run
      ``make lab`` / ``tools/setup.sh`` / an in-tree wheel build in the repository: they
      would collide with each other, so they run one after the other (``LIVE``; every
      test marked ``lab`` must be listed, which collection checks).
  ``browser``
      the notebooks driven in chromium: one JupyterLab server (module fixture) for all.
  one group per file otherwise
      the cells of a notebook share one kernel and must run in order; a file's
      module-scoped fixtures (a MariaDB server, a fleet run) are then made once.

  The two long groups are put first so that no worker starts them last.
  Without ``-n`` (plain ``pytest``) the groups change nothing but the order.

  The scheduler is our own (:func:`pytest_xdist_make_scheduler`: xdist's LoadScope
  scheduling with :func:`group_of` as the scope): xdist 3.8's ``xdist_group`` marker works
  by rewriting ``item._nodeid``, which pytest 9.2 no longer reads (a node's id is ``_id``),
  so with it every test would be its own group and a notebook's cells would be split.
- No progress bar in tests, doctests or notebooks under nbval (their kernels inherit the
  environment), whatever the input size (labkit.capture.show_progress).
"""
import os

import matplotlib
import pytest

os.environ.setdefault("LABKIT_PROGRESS", "0")

matplotlib.use("Agg")

# node ids (a file, or a file::test prefix) of tests that must not run concurrently with
# each other; why, for each
LIVE = {
    "tests/test_lab.py::test_real_loopback_call": "baresip on loopback ports (lab)",
    "tests/test_lab_sipflow.py::test_a_fresh_": "kamailio, sipp on ports 42001-42801 (lab)",
    "tests/sip/test_auth_lab.py": "kamailio on 43060, sipp 43061, baresip 43070 (lab)",
    "tests/ops/test_lab_ops.py": "kamailio, sipp, prometheus, sngrep on fixed ports (lab)",
    "tests/quality/test_jitterlab_live.py": "rtpengine, sender, netem in netns lkj-jitter, ports 41100-41990",
    "tests/freeswitch/test_timers.py::test_live_sipp_progress_timeout": "sipp on ports 46000-46999",
    "tests/test_browser.py::test_make_lab_opens_start_here": "make lab: tools/setup.sh in the tree",
    "tests/test_project.py::test_setup_second_run_changes_nothing": "tools/setup.sh in the tree",
    "tests/test_wheel.py": "pip wheel of the tree builds in it (build/, *.egg-info)",
}
BROWSER = "tests/test_browser.py::test_notebook_runs_in_the_browser"
FIRST = ("browser", "live")   # the longest groups: started first


def group_of(nodeid: str) -> str:
    """The group of a test: "live", "browser" or its file."""
    if any(nodeid.startswith(k) for k in LIVE):
        return "live"
    if nodeid.startswith(BROWSER):
        return "browser"
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    unlisted = [it.nodeid for it in items if it.get_closest_marker("lab") and group_of(it.nodeid) != "live"]
    if unlisted:
        raise pytest.UsageError(f"conftest.py: tests marked lab must be in LIVE (run serially): {unlisted}")
    rank = {g: i for i, g in enumerate(FIRST)}
    items.sort(key=lambda it: rank.get(group_of(it.nodeid), len(FIRST)))   # stable: file order kept


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling
    config.option.loadscopereorder = False   # our order (long groups first), not by test count

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)
