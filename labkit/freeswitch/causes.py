"""FreeSWITCH hangup causes of a bridge: to and from SIP, and ``last_bridge_hangup_cause``.

The two tables are mod_sofia's (FreeSWITCH master at cc93a683ca): what SIP response
FreeSWITCH sends for a hangup cause (``hangup_cause_to_sip``, mod_sofia.c 292-373) and
what cause a B-leg's final response becomes (``sofia_glue_sip_cause_to_freeswitch``,
sofia_glue.c 1814-1886). :func:`read_bridge_causes` finds the cause variables in a log
or CDR; ``last_bridge_hangup_cause`` is set on the other leg when a bridged leg hangs up
(switch_channel.c 3430), so on the caller it says why the B-leg ended.
"""
from __future__ import annotations

import re

from labkit.errors import LabkitError

__all__ = ["CAUSE_TO_SIP", "SIP_TO_CAUSE", "CAUSE_MEANING", "read_bridge_causes"]

# hangup cause -> SIP response mod_sofia sends for it (hangup_cause_to_sip, mod_sofia.c 292-373)
CAUSE_TO_SIP = {"NO_ANSWER": 480, "NO_USER_RESPONSE": 408, "RECOVERY_ON_TIMER_EXPIRE": 504,
                "PROGRESS_TIMEOUT": 480, "ALLOTTED_TIMEOUT": 480, "USER_BUSY": 486,
                "ORIGINATOR_CANCEL": 487, "CALL_REJECTED": 603, "UNALLOCATED_NUMBER": 404,
                "NORMAL_TEMPORARY_FAILURE": 503, "INCOMPATIBLE_DESTINATION": 488}
# SIP final response from the B-leg -> hangup cause (sofia_glue_sip_cause_to_freeswitch, sofia_glue.c 1814-1886)
SIP_TO_CAUSE = {408: "RECOVERY_ON_TIMER_EXPIRE", 504: "RECOVERY_ON_TIMER_EXPIRE",
                480: "NO_USER_RESPONSE", 486: "USER_BUSY", 600: "USER_BUSY", 487: "ORIGINATOR_CANCEL",
                404: "UNALLOCATED_NUMBER", 403: "CALL_REJECTED", 603: "CALL_REJECTED",
                503: "NORMAL_TEMPORARY_FAILURE", 500: "NORMAL_TEMPORARY_FAILURE",
                488: "INCOMPATIBLE_DESTINATION", 606: "INCOMPATIBLE_DESTINATION",
                502: "NETWORK_OUT_OF_ORDER"}
CAUSE_MEANING = {
    "PROGRESS_TIMEOUT": "the B-leg sent no 180/183 within progress_timeout or leg_progress_timeout",
    "NO_ANSWER": "originate_timeout ran out before the B-leg answered (or sent early media)",
    "ALLOTTED_TIMEOUT": "leg_timeout ended the B-leg, or bridge_answer_timeout ended the unanswered caller",
    "NO_USER_RESPONSE": "the B-leg answered 480 Temporarily Unavailable",
    "RECOVERY_ON_TIMER_EXPIRE": "the B-leg answered 408/504, or never answered the INVITE (Timer B)",
    "ORIGINATOR_CANCEL": "the caller hung up first (or the B-leg answered 487)",
    "NORMAL_CLEARING": "the bridged call ended normally",
    "USER_BUSY": "the B-leg answered 486/600 Busy",
}
_VAR = re.compile(r"(?:variable_)?(last_bridge_hangup_cause|originate_disposition|hangup_cause|"
                  r"DIALSTATUS|last_bridge_proto_specific_hangup_cause|sip_term_status|bridge_hangup_cause)"
                  r"""(?:["']?\s*[:=]\s*["']?\[?|>)([A-Za-z0-9_:.]+)""")


def read_bridge_causes(text: str, where: str = "log") -> "pd.DataFrame":
    """``last_bridge_hangup_cause`` and related variables in a FreeSWITCH log or CDR.

    Parameters
    ----------
    text : str
        A channel dump (``variable_last_bridge_hangup_cause: [PROGRESS_TIMEOUT]``), a log,
        an XML CDR (``<last_bridge_hangup_cause>..</..>``) or a JSON CDR.
    where : str
        Named in the message when nothing is found.

    Returns
    -------
    pandas.DataFrame
        line, variable, value, meaning (for causes).

    Raises
    ------
    LabkitError
        When the text holds none of these variables.

    References
    ----------
    FreeSWITCH switch_channel.c 3430 (last_bridge_hangup_cause set on the partner
    channel at hangup); switch_ivr_originate.c 4055 (originate_disposition, DIALSTATUS).

    Examples
    --------
    >>> read_bridge_causes("variable_last_bridge_hangup_cause: [PROGRESS_TIMEOUT]").loc[0, "value"]
    'PROGRESS_TIMEOUT'
    """
    import pandas as pd
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        for m in _VAR.finditer(line):
            rows.append({"line": n, "variable": m.group(1), "value": m.group(2),
                         "meaning": CAUSE_MEANING.get(m.group(2), "")})
    if not rows:
        raise LabkitError("no last_bridge_hangup_cause, hangup_cause or originate_disposition found", where,
                          "give a FreeSWITCH log with a channel dump (info/uuid_dump) or an XML/JSON CDR")
    return pd.DataFrame(rows, columns=["line", "variable", "value", "meaning"])
