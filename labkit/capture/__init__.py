"""Capture files to datagram arrays: pcap/pcapng/gzip readers, link layers, IP reassembly,
tunnels (GTP-U, ESP, GRE, VXLAN), TCP segments; frame and capture builders; the tshark view.

Data flow: file -> :mod:`~labkit.capture.pcapfile` (records) -> :mod:`~labkit.capture.dissect`
and :mod:`~labkit.capture.tunnels` (layers) -> :class:`~labkit.capture.packets.Packets`
(UDP/TCP datagrams as numpy arrays), through :func:`read_capture` / :func:`iter_frames`;
:mod:`~labkit.capture.layers` gives one frame's header boundaries from the same dissector.
:mod:`labkit.capture.frames` builds frames and captures; :mod:`labkit.capture.wireshark`
wraps tshark, sharkd and pyshark (the oracle).
"""
from labkit.capture.read import *  # noqa: F401,F403
from labkit.capture.read import __all__ as _read_all

__all__ = [*_read_all, ]
