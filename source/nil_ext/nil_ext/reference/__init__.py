"""Stage 1: reference bundles (frames, robot masks, control-rate timing) from a prompt or any video.

`first_frame` and `scripted` render with the simulator; nothing else here imports it.
"""

from .bundle import FORMAT_VERSION, ReferenceBundle
from .errors import BundleError, ReferenceInputError

__all__ = ["FORMAT_VERSION", "BundleError", "ReferenceBundle", "ReferenceInputError"]
