"""labkit: VoIP/IMS troubleshooting notebooks and the package behind them.

Modules (one protocol each): capture, rtp, amr, audio, sip, sdp, negotiation,
sms, overhead, wireshark (the tshark/pyshark view), plots, widgets, data, cli.
"""
from labkit.errors import LabkitError, LabkitWarning

__version__ = "0.1.0"
__all__ = ["LabkitError", "LabkitWarning", "__version__"]
