"""MFKit: structured matrices for differentially private training, Kronecker sums and
parametric matrix models, computed by a Swift library (libmfkit.so).

Modules keep the names of the libraries they overlap with: `mfkit.streaming_matrix` follows
`jax_privacy.matrix_factorization.streaming_matrix`; `mfkit.banded`, `mfkit.optimization` and
`mfkit.sensitivity` its modules of those names;
`mfkit.pmm` follows parametricmatrixmodels' modules; `mfkit.kron` holds Kronecker sums.
"""
__version__ = "0.1.0"

from . import _ffi  # noqa: F401  (loads the library and checks its version)
from . import streaming_matrix
from . import banded
from . import optimization
from . import sensitivity
from . import kron
from . import pmm
from .streaming_matrix import StreamingMatrix, Stream

__all__ = ["streaming_matrix", "banded", "optimization", "sensitivity", "kron", "pmm", "StreamingMatrix", "Stream", "__version__"]
