"""The one error family of labkit.

Every error a user can trigger with bad input is a :class:`LabkitError` whose message
says what was found, where (file, frame number) and what to do. Recoverable problems
(a damaged capture tail, a payload skipped) are :class:`LabkitWarning` warnings.
"""
from __future__ import annotations


class LabkitError(Exception):
    """Bad input or an impossible request, explained for a person.

    Parameters
    ----------
    what : str
        What was found ("not a pcap or pcapng file").
    where : str, optional
        Where: file name, frame number, line ("capture.pcap, frame 12").
    fix : str, optional
        What to do about it ("export the capture as pcap or pcapng from Wireshark").
    """

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text}. {self.fix}" if self.fix else text


class CaptureError(LabkitError):
    """A capture file that cannot be read (format, truncation, link type)."""


class DecodeError(LabkitError):
    """A payload that does not decode as the protocol it was asked to be."""


class ConfigError(LabkitError):
    """A configuration file (FreeSWITCH XML, tone plan, ...) that cannot be used."""


class ToolMissingError(LabkitError):
    """An external program (tshark, sharkd, ...) that is needed but not installed."""


class LabkitWarning(UserWarning):
    """Something was skipped or repaired; results before/around it are still valid."""
