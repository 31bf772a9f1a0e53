"""SIP signalling: messages, dialogs, calls, and SDP offers/answers (RFC 3261, 3264, 4566).

:mod:`~labkit.sip.messages` parses SIP over UDP and TCP into messages and calls;
:mod:`~labkit.sip.sdp` parses SDP (sdp-transform plus the RFC 3551 static table) and checks
answers against RFC 3264, 4867, 4733 and 4568; :mod:`~labkit.sip.calls` is the call
timeline; :mod:`~labkit.sip.flow` the ladder, legs and leg pairing;
:mod:`~labkit.sip.headers` header lists and checks (420 Bad Extension);
:mod:`~labkit.sip.ussd` USSD over IMS (TS 24.390).
"""
from labkit.sip.messages import *  # noqa: F401,F403
from labkit.sip.messages import __all__ as _messages_all
from labkit.sip.sdp import *  # noqa: F401,F403
from labkit.sip.calls import __all__ as _calls_all
from labkit.sip.calls import *  # noqa: F401,F403
from labkit.sip.sdp import __all__ as _sdp_all
from labkit.sip.flow import *  # noqa: F401,F403
from labkit.sip.flow import __all__ as _flow_all
from labkit.sip.headers import *  # noqa: F401,F403
from labkit.sip.headers import __all__ as _headers_all

from labkit.sip.ussd import *  # noqa: F401,F403
from labkit.sip.ussd import __all__ as _ussd_all

__all__ = [*_messages_all, *_sdp_all, *_calls_all, *_flow_all, *_headers_all, *_ussd_all]
