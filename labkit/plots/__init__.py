"""Pictures. The only part of labkit that imports matplotlib.

Every function takes the data an analysis function returned, an optional ``ax=None``
(a new figure of fixed size is made when omitted) and returns the Axes (or Figure when
it draws several). One submodule per area; everything is re-exported here, so notebooks
write ``from labkit import plots; plots.plot_spectrogram(...)``.
"""
from labkit.plots._base import new_axes, new_figure, show  # noqa: F401
from labkit.plots.rtp import *  # noqa: F401,F403
from labkit.plots.audio import *  # noqa: F401,F403
from labkit.plots.sms import *  # noqa: F401,F403
from labkit.plots.negotiation import *  # noqa: F401,F403
from labkit.plots.overview import *  # noqa: F401,F403
from labkit.plots.quality import *  # noqa: F401,F403
from labkit.plots.fleet import *  # noqa: F401,F403
from labkit.plots.ops import *  # noqa: F401,F403
from labkit.plots.rating import *  # noqa: F401,F403
from labkit.plots.timers import *  # noqa: F401,F403
from labkit.plots.sip_auth import *  # noqa: F401,F403
from labkit.plots.sip import *  # noqa: F401,F403
