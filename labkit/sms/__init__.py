"""SMS over IMS (3GPP TS 24.341, 24.011, 23.040): RP/TP PDUs, SMS in SIP MESSAGEs, the
iPhone RP-DA diagnosis and fix, per-layer overhead and what-ifs.
"""
from labkit.sms.pdu import *  # noqa: F401,F403
from labkit.sms.pdu import __all__ as _pdu_all
from labkit.sms.smsip import *  # noqa: F401,F403
from labkit.sms.smsip import __all__ as _smsip_all
from labkit.sms.overhead import *  # noqa: F401,F403
from labkit.sms.overhead import __all__ as _overhead_all
from labkit.sms.whatif import *  # noqa: F401,F403
from labkit.sms.whatif import __all__ as _whatif_all
from labkit.sms.transaction import *  # noqa: F401,F403
from labkit.sms.transaction import __all__ as _transaction_all
from labkit.sms.ipsec import *  # noqa: F401,F403
from labkit.sms.ipsec import __all__ as _ipsec_all

__all__ = [*_pdu_all, *_smsip_all, *_overhead_all, *_whatif_all, *_transaction_all, *_ipsec_all]
