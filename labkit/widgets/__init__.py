"""Interactive controls. The only part of labkit that imports ipywidgets.

One submodule per area, all re-exported here. Each widget drives analysis functions
from the other modules and shows their results; it holds no logic of its own.
"""
from labkit.widgets.rtp import *  # noqa: F401,F403
from labkit.widgets.audio import *  # noqa: F401,F403
from labkit.widgets.negotiation import *  # noqa: F401,F403
from labkit.widgets.quality import *  # noqa: F401,F403
