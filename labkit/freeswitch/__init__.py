"""FreeSWITCH: configuration (vars.xml, profiles, dialplan codec variables), debug logs
explained call by call, and the codec negotiation rules of switch_core_media.c.
"""
from labkit.freeswitch.config import *  # noqa: F401,F403
from labkit.freeswitch.config import __all__ as _config_all
from labkit.freeswitch.log import *  # noqa: F401,F403
from labkit.freeswitch.log import __all__ as _log_all
from labkit.freeswitch.negotiation import *  # noqa: F401,F403
from labkit.freeswitch.negotiation import __all__ as _negotiation_all

__all__ = [*_config_all, *_log_all, *_negotiation_all, ]
