"""Root of every test ``make test`` runs (tests/, labkit/ doctests, notebooks/ by nbval).

- Doctests in labkit/ (``--doctest-modules``) draw without a screen.
- ``make test`` runs the tests on ``JOBS`` pytest-xdist workers (``-n auto --dist loadgroup``).
  :func:`pytest_collection_modifyitems` puts every test into an ``xdist_group``: a group runs
  on one worker, in file order. The groups:

  ``live``
      tests that start real lab software on fixed ports or fixed network-namespace names
      (kamailio, baresip, rtpengine, sipp, prometheus; netns ``lkj-jitter``), or that run
      ``make lab`` / ``tools/setup.sh`` / an in-tree wheel build in the repository: they
      would collide with each other, so they run one after the other.
  ``browser``
      the notebooks driven in chromium: one JupyterLab server (module fixture) for all.
  one group per file otherwise
      the cells of a notebook share one kernel and must run in order; a file's
      module-scoped fixtures (a MariaDB server, a fleet run) are then made once.

  The two long groups are put first so that no worker starts them last.
  Without ``-n`` (plain ``pytest``) the groups change nothing but the order.
"""
import matplotlib
import pytest

matplotlib.use("Agg")

# node ids (a file, or a file::test prefix) of tests that must not run concurrently with
# each other, besides the ones marked ``lab``; why, for each
LIVE = {
    "tests/quality/test_jitterlab_live.py": "rtpengine, sender, netem in netns lkj-jitter, ports 41100-41990",
    "tests/freeswitch/test_timers.py::test_live_sipp_progress_timeout": "sipp on ports 46000-46999",
    "tests/test_browser.py::test_make_lab_opens_start_here": "make lab: tools/setup.sh in the tree",
    "tests/test_project.py::test_setup_second_run_changes_nothing": "tools/setup.sh in the tree",
    "tests/test_wheel.py": "pip wheel of the tree builds in it (build/, *.egg-info)",
}
FIRST = ("browser", "live")   # the longest groups: started first


def _group(item) -> str:
    nodeid = item.nodeid
    if item.get_closest_marker("lab") or any(
            nodeid == k or nodeid.startswith(k + "::") or nodeid.startswith(k + "[") for k in LIVE):
        return "live"
    if nodeid.startswith("tests/test_browser.py::test_notebook_runs_in_the_browser"):
        return "browser"
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)   # before xdist reads the groups (its hook is not trylast)
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    rank = {g: i for i, g in enumerate(FIRST)}
    items.sort(key=lambda it: rank.get(_group(it), len(FIRST)))   # stable: file order kept
