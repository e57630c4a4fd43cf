"""MFKit: structured matrices for differentially private training, Kronecker sums and
parametric matrix models, computed by a Swift library (libmfkit.so).

Modules keep the names of the libraries they overlap with: `mfkit.streaming_matrix` follows
`jax_privacy.matrix_factorization.streaming_matrix`; `mfkit.banded`, `mfkit.optimization` and
`mfkit.sensitivity`, `mfkit.toeplitz`, `mfkit.buffered_toeplitz` and `mfkit.dense` its modules of those names;
`mfkit.pmm` follows parametricmatrixmodels' modules; `mfkit.kron` holds Kronecker sums.

The workflow around them: `mfkit.noise` (correlated noise for a training loop),
`mfkit.accounting` (noise for a privacy target; needs the `accounting` extra), `mfkit.plot`
(needs matplotlib), `mfkit.interop` (strategies to and from jax_privacy) and `mfkit.dask`
(work beyond one process; needs the `dask` extra, imported on first use). `import mfkit`
itself needs only NumPy.
"""
from . import _ffi  # loads the library, reads include/mfkit.h and checks the versions agree
from ._ffi import num_threads, set_num_threads, lapack_library, Unavailable
from . import streaming_matrix
from . import banded
from . import toeplitz
from . import optimization
from . import sensitivity
from . import dense
from . import kron
from . import pmm
from . import buffered_toeplitz
from . import noise
from . import accounting
from . import plot
from . import interop
from .streaming_matrix import StreamingMatrix, Stream

#: MFKit's version, from the header's MFKIT_VERSION_* macros (the library reports the same).
__version__ = _ffi.VERSION

__all__ = ["streaming_matrix", "banded", "toeplitz", "buffered_toeplitz", "optimization", "sensitivity", "dense", "kron",
           "pmm", "StreamingMatrix", "Stream",
           "num_threads", "set_num_threads", "lapack_library", "Unavailable", "__version__",
           "noise", "accounting", "plot", "interop"]


def __getattr__(name):
    """`mfkit.dask` is imported on first use (it imports Dask)."""
    if name == "dask":
        import importlib
        return importlib.import_module(".dask", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
