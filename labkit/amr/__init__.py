"""AMR and AMR-WB in RTP (RFC 4867) and the AMR storage file format.

The bit layer between RTP payloads and the ``.amr`` / ``.awb`` / ``.3ga`` storage files
that decoders and players read:

- :func:`depacketize_amr` / :func:`packetize_amr`: RFC 4867 section 4.3 (bandwidth-
  efficient) and 4.4 (octet-aligned) payloads with any number of frames, the CMR, the
  ToC F/FT/Q bits, SID, NO_DATA and (AMR-WB) speech-lost frames.
- :func:`write_amr_storage` / :func:`read_amr_storage`: RFC 4867 section 5
  (``#!AMR\\n`` / ``#!AMR-WB\\n`` single-channel files).
- :func:`amr_storage_from_rtp`: a real-time storage file from one RTP stream. RTP
  timestamp gaps (DTX, loss) become NO_DATA frames, duplicates are dropped, reordering
  is undone, sequence and timestamp wrap are handled, and a damaged payload is counted
  and skipped (its time slot becomes NO_DATA), never shifting the bit stream.
- :func:`detect_amr_format`: for streams without SDP, a payload-structure score for
  bandwidth-efficient vs octet-aligned and AMR vs AMR-WB, and an honest EVS flag.

Not supported (raise :class:`~labkit.errors.ConfigError` from :func:`parse_amr_fmtp`):
the octet-aligned options ``crc=1``, ``robust-sorting=1`` and ``interleaving``, and
multi-channel sessions; they are rare in IMS and change the payload layout.
"""
from labkit.amr.payload import *  # noqa: F401,F403
from labkit.amr.payload import __all__ as _payload_all
from labkit.amr.storage import *  # noqa: F401,F403
from labkit.amr.storage import __all__ as _storage_all
from labkit.amr.realtime import *  # noqa: F401,F403
from labkit.amr.realtime import __all__ as _realtime_all
from labkit.amr.detect import *  # noqa: F401,F403
from labkit.amr.detect import __all__ as _detect_all
from labkit.amr.codec import *  # noqa: F401,F403
from labkit.amr.codec import __all__ as _codec_all
from labkit.amr.streams import *  # noqa: F401,F403
from labkit.amr.streams import __all__ as _streams_all

__all__ = [*_payload_all, *_storage_all, *_realtime_all, *_detect_all, *_codec_all, *_streams_all]
