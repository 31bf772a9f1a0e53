"""The scripted timings of the FreeSWITCH-timer captures (the ground truth of data/timers).

Each case: the channel variables / dial string FreeSWITCH would have had, the B-leg
peer(s) (SIPp UAS scripts: when each response is sent, in ms after the INVITE arrived),
and the stand-in for FreeSWITCH's B-leg (a SIPp UAC told to send CANCEL when the timer
named in ``expect`` fires by the rules of switch_ivr_originate.c, or never).
"""
from __future__ import annotations

CASES = {
    "timers_progress_timeout": {
        "dial": "{progress_timeout=4}sofia/gateway/gw1/1000",
        "peers": [{"port": 46061, "responses": [(50, 100)], "answer_ms": None}],
        "cancel_ms": [4500],
        "expect": "PROGRESS_TIMEOUT",
        "story": "the peer sends 100 Trying and then nothing (a handset that is never paged): "
                 "no 180/183 within progress_timeout=4",
    },
    "timers_no_answer": {
        "dial": "{originate_timeout=6}sofia/gateway/gw1/1000",
        "peers": [{"port": 46061, "responses": [(50, 100), (1000, 180)], "answer_ms": None}],
        "cancel_ms": [5600],
        "expect": "NO_ANSWER",
        "story": "the peer rings (180 at 1 s) and nobody answers: originate_timeout=6",
    },
    "timers_early_media": {
        "dial": "{originate_timeout=6,progress_timeout=3}sofia/gateway/gw1/1000",
        "peers": [{"port": 46061, "responses": [(50, 100), (1000, "183sdp")], "answer_ms": 9000}],
        "cancel_ms": [None],
        "expect": "ANSWERED",
        "story": "183 with SDP at 1 s, 200 OK at 9 s: the 183 ends the originate (early media is "
                 "bridged), so originate_timeout=6 never fires and the call is answered at 9 s",
    },
    "timers_leg_timeout_failover": {
        "dial": "[leg_timeout=3]sofia/gateway/gw1/1000|sofia/gateway/gw2/1000",
        "peers": [{"port": 46061, "responses": [(50, 100), (500, 180)], "answer_ms": None},
                  {"port": 46062, "responses": [(50, 100), (300, 180)], "answer_ms": 1500}],
        "cancel_ms": [3500, None],
        "expect": "ALLOTTED_TIMEOUT",
        "story": "gateway 1 rings and leg_timeout=3 ends it (ALLOTTED_TIMEOUT); FreeSWITCH goes on "
                 "to the next | group, gateway 2 answers at 1.5 s",
    },
}
