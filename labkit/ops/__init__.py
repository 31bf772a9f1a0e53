"""Operations: HEP and the HOMER API, Kamailio/Prometheus metrics (re-exported), and rating
precision (`from labkit.ops import rating`, not re-exported: it starts a MariaDB on demand)."""
from labkit.ops.hep import __all__ as _hep_all
from labkit.ops.hep import *  # noqa: F401,F403

from labkit.ops.collector import __all__ as _collector_all
from labkit.ops.collector import *  # noqa: F401,F403
from labkit.ops.homer import __all__ as _homer_all
from labkit.ops.homer import *  # noqa: F401,F403
from labkit.ops.metrics import __all__ as _metrics_all
from labkit.ops.metrics import *  # noqa: F401,F403

__all__ = [*_hep_all, *_collector_all, *_homer_all, *_metrics_all]
