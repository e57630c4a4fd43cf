"""Model: a sequence of PMM modules with the release's training loop, save and load."""
from __future__ import annotations

import io
import os
import pickle
import sys
import warnings
import zipfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _args, _ffi
from . import _losses
from ._common import ModuleBase, make_rng, precision_bits, shape_tuple

__all__ = ["Model"]



def _float64(value: Any, name: str, function: str) -> np.ndarray:
    """A real array of any kind the shared coercers read (integers included) as float64."""
    return _args.array(value, name, function).astype(np.float64, copy=False)

class Model:
    """parametricmatrixmodels' Model: modules applied in order, trained with the release's
    complex Adam.

    Parameters
    ----------
    modules : a module or a list of modules (default: none yet).
    rng : int seed, numpy Generator or None: the model's random state (batch shuffling seeds
        and compile's default).

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> Y = np.hstack([X ** 2, -X])
    >>> model = pmm.Model([pmm.AffineEigenvaluePMM(matrix_size=3, num_eig=2)])
    >>> model.compile(0, (1,))
    >>> model.train(X, Y, lr=0.05, batch_size=40, num_epochs=20, verbose=False, batch_seed=0)
    >>> model(X).shape
    (40, 2)
    """

    def __init__(self, modules: Any = None, rng: Any = None) -> None:
        if modules is None:
            modules = []
        elif not isinstance(modules, (list, tuple)):
            modules = [modules]
        self.modules: List[Any] = [_module(m) for m in modules]
        self._seed = rng if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
        self.rng = make_rng(rng)
        self.key_data = np.array([0, int(self._seed or 0) & 0xFFFFFFFF], np.uint32)
        self.input_shape: Optional[Tuple[int, ...]] = None
        self.output_shape: Optional[Tuple[int, ...]] = None

    # -- structure -----------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"  ({i}): {m}" for i, m in enumerate(self.modules)]
        return "Model(\n" + "\n".join(lines) + "\n)"

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return Model(self.modules[index])
        if isinstance(index, np.ndarray):
            idx = np.flatnonzero(index) if index.dtype == bool else index
            return Model([self.modules[int(i)] for i in idx])
        return self.modules[index]

    def __len__(self) -> int:
        return len(self.modules)

    def _changed(self) -> None:
        self.input_shape = None
        self.output_shape = None

    def append_module(self, module: Any) -> None:
        """Adds a module at the end (the model must be compiled again)."""
        self.modules.append(_module(module))
        self._changed()

    add = append_module

    def __add__(self, module: Any) -> "Model":
        return Model(self.modules + [module])

    def prepend_module(self, module: Any) -> None:
        """Adds a module at the start."""
        self.modules.insert(0, _module(module))
        self._changed()

    put = prepend_module

    def insert_module(self, index: int, module: Any) -> None:
        """Inserts a module at `index` (0 ... len)."""
        index = _index(index, len(self.modules) + 1)
        self.modules.insert(index, _module(module))
        self._changed()

    insert = insert_module

    def remove_module(self, module: Any) -> None:
        """Removes a module (ValueError if it is not in the model)."""
        if not any(m is module for m in self.modules):
            raise ValueError("remove_module: the module is not in the model")
        self.modules = [m for m in self.modules if m is not module]
        self._changed()

    def pop_module(self, index: int = -1) -> Any:
        """Removes and returns the module at `index`."""
        module = self.modules.pop(_index(index, len(self.modules)))
        self._changed()
        return module

    # -- life cycle ----------------------------------------------------------------------
    def is_ready(self) -> bool:
        return self.input_shape is not None and all(m.is_ready() for m in self.modules)

    def compile(self, rngkey: Any, input_shape: Tuple[int, ...], verbose: bool = False) -> None:
        """Compiles every module in order for inputs of shape `input_shape` (per sample);
        parameters already present (given or loaded) are kept. `rngkey`: int seed or Generator."""
        gen = make_rng(rngkey)
        shape = shape_tuple(input_shape)
        self.input_shape = shape
        for module in self.modules:
            module.compile(gen, shape)
            shape = tuple(module.get_output_shape(shape))
            if verbose:
                print(f"{module.name()} -> {shape}")
        self.output_shape = shape

    def get_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        shape = shape_tuple(input_shape)
        for module in self.modules:
            shape = tuple(module.get_output_shape(shape))
        return shape

    def get_params(self) -> Tuple[np.ndarray, ...]:
        """Every module's parameters, in order (a flat tuple)."""
        self._require_ready()
        return tuple(p for m in self.modules for p in m.get_params())

    def set_params(self, params: Sequence[np.ndarray]) -> None:
        """Sets the flat tuple of get_params()."""
        counts = [len(m.get_params()) for m in self.modules]
        if not isinstance(params, (tuple, list)) or len(params) != sum(counts):
            raise ValueError(f"Expected {sum(counts)} parameters, got "
                             f"{len(params) if isinstance(params, (tuple, list)) else type(params).__name__}")
        start = 0
        for module, count in zip(self.modules, counts):
            if count:
                module.set_params(tuple(params[start:start + count]))
            start += count

    def get_state(self) -> Tuple[np.ndarray, ...]:
        return tuple(s for m in self.modules for s in m.get_state())

    def set_state(self, state: Sequence[np.ndarray]) -> None:
        if len(state) != 0:
            raise ValueError("MFKit's PMM modules keep no state")

    def get_rng(self) -> np.random.Generator:
        return self.rng

    def set_rng(self, rng: Any) -> None:
        self.rng = make_rng(rng)

    def get_num_trainable_floats(self) -> Optional[int]:
        counts = [m.get_num_trainable_floats() for m in self.modules]
        return None if any(c is None for c in counts) else int(sum(counts))

    def set_precision(self, prec: Any) -> None:
        """Every module's parameters to 32- or 64-bit precision (the release's aliases)."""
        precision_bits(prec)
        for m in self.modules:
            m.set_precision(prec)

    def astype(self, prec: Any) -> "Model":
        self.set_precision(prec)
        return self

    def _require_ready(self) -> None:
        if not self.is_ready():
            raise RuntimeError("Model is not ready; call compile(rng, input_shape) first")

    # -- evaluation ----------------------------------------------------------------------
    def predict(self, X: np.ndarray, dtype: Any = np.float64, rng: Any = None, return_state: bool = False,
                update_state: bool = False):
        """The output array for X (N, ...) cast to `dtype` (default float64); with return_state,
        (output, state). Each module runs once over the whole batch in the library."""
        self._require_ready()
        X = _args.array(X, "X", "predict", dtypes=_args.REAL + _args.COMPLEX)
        dtype = np.dtype(dtype)
        if X.dtype.kind == "c" and dtype.kind != "c":
            raise TypeError(f"predict: X is complex ({X.dtype}) but dtype={dtype} is real; pass a complex dtype")
        out = X.astype(dtype, copy=False)
        for module in self.modules:
            out, _ = module(out)
        return (out, ()) if return_state else out

    __call__ = predict

    def value_and_grad(self, X: np.ndarray, Y: Optional[np.ndarray] = None, loss_fn: Any = "mse",
                       Y_unc: Optional[np.ndarray] = None) -> Tuple[float, Tuple[np.ndarray, ...]]:
        """(loss, grads shaped like get_params()) for a model of one PMM module (the modules'
        own analytic gradients); other compositions raise ValueError."""
        self._require_ready()
        trainable = [m for m in self.modules if hasattr(m, "value_and_grad")]
        if len(self.modules) != 1 or len(trainable) != 1:
            raise ValueError("MFKit differentiates models made of one PMM module "
                                      "(AffineEigenvaluePMM, LowRankAffineEigenvaluePMM, AffineObservablePMM, "
                                      "LowRankAffineObservablePMM)")
        return self.modules[0].value_and_grad(_float64(X, "X", "value_and_grad"), Y, loss_fn, Y_unc)

    def _loss(self, X, Y, Y_unc, loss_fn) -> float:
        pred = self.predict(X)
        return _losses.evaluate(loss_fn, X, Y, Y_unc, pred)[0]

    # -- training ------------------------------------------------------------------------
    def train(self, X: np.ndarray, Y: Optional[np.ndarray] = None, Y_unc: Optional[np.ndarray] = None,
              X_val: Optional[np.ndarray] = None, Y_val: Optional[np.ndarray] = None,
              Y_val_unc: Optional[np.ndarray] = None, loss_fn: Any = "mse", lr: Union[float, Callable] = 1e-3,
              batch_size: int = 32, num_epochs: int = 100, convergence_threshold: float = 1e-12,
              early_stopping_patience: int = 10, early_stopping_tolerance: float = 1e-6,
              initialization_seed: Optional[int] = None, callback: Optional[Callable] = None, unroll: Any = None,
              verbose: bool = True, batch_seed: Optional[int] = None, b1: float = 0.9, b2: float = 0.999,
              eps: float = 1e-8, clip: float = 1e3) -> None:
        """Trains the parameters with the release's complex Adam; afterwards the model holds the
        parameters of the epoch with the lowest validation loss (the initial ones if none was lower).

        Parameters
        ----------
        X, Y, Y_unc : training inputs (N, ...), targets and their uncertainties (optional).
        X_val, Y_val, Y_val_unc : validation data (default: the training data).
        loss_fn : 'mse' (default), 'mae', 'mse_unc', 'mae_unc', 'mre', 'mre_unc', 'mrd', 'mrd_unc',
            '*_unsupervised', or `f(X, Y, Y_pred) -> (loss, dloss/dY_pred)`.
        lr : float or schedule `lr(epoch)`. batch_size : int (N if larger than N).
        num_epochs, convergence_threshold : stop after num_epochs or once the best validation
            loss is <= convergence_threshold.
        early_stopping_patience, early_stopping_tolerance : stop after `patience` epochs whose
            validation loss did not improve on the best by `tolerance`.
        initialization_seed : compile seed when the model is not ready.
        callback : `callback(rng, epoch, params) -> (rng, params)` after every epoch with the
            current parameters; the returned ones replace them (Adam's moments are kept).
        unroll : accepted and ignored (a JAX option).
        verbose : progress bar (tqdm when installed, else a line on stdout); Ctrl-C stops after
            the current epoch.
        batch_seed : seed of the per-epoch shuffles (NumPy's generator: the batches differ from
            the release's, which uses JAX's PRNG; full batches give the same steps).
        b1, b2, eps, clip : Adam's moment decays, denominator offset and gradient clip.

        Returns
        -------
        None. Raises ValueError for shapes that do not fit the model or X_val without Y_val.

        Cost: per epoch, one value-and-gradient call per batch and one forward pass per
        validation batch (each over its whole batch in the library).

        Notes
        -----
        Adam as the release: one state (m, v) per parameter array; the step index is the epoch
        (the same for every batch of an epoch); complex x: d = clip(Re g) - i clip(Im g) with g
        the jax.grad entry, v accumulates |d|^2.
        """
        X = _float64(X, "X", "train")
        unsupervised = _losses.is_unsupervised(loss_fn)
        if not self.is_ready():
            self.compile(initialization_seed, X.shape[1:])
        if X.shape[1:] != tuple(self.input_shape):
            raise ValueError(f"X has sample shape {X.shape[1:]}, the model takes {self.input_shape}")
        if not unsupervised:
            if Y is None:
                raise ValueError("Y is required for a supervised loss")
            Y = _float64(Y, "Y", "train")
            if Y.shape[1:] != tuple(self.output_shape) or Y.shape[0] != X.shape[0]:
                raise ValueError(f"Y has shape {Y.shape}, expected ({X.shape[0]},) + {self.output_shape}")
        if X_val is not None and Y_val is None and not unsupervised:
            raise ValueError("X_val is given without Y_val")
        if X_val is None:
            X_val, Y_val, Y_val_unc = X, Y, Y_unc
        X_val = _float64(X_val, "X_val", "train")
        params = [np.array(p) for p in self.get_params()]
        if any(p.dtype in (np.float64, np.complex128) for p in params):
            warnings.warn("Training with float64/complex128 parameters; single precision is usually enough "
                          "(set_precision(32)).", UserWarning, stacklevel=2)
        N = X.shape[0]
        if batch_size > N:
            print(f"batch_size {batch_size} is larger than the number of samples {N}; using {N}")
            batch_size = N
        val_batch = batch_size
        if X_val.shape[0] < val_batch:
            warnings.warn("Fewer validation samples than batch_size: validating on all of them", UserWarning,
                          stacklevel=2)
            val_batch = X_val.shape[0]
        schedule = lr if callable(lr) else (lambda i: lr)
        batch_rng = np.random.default_rng(batch_seed)
        m_state = [np.zeros_like(p) for p in params]
        v_state = [np.zeros(p.shape, np.float32 if p.dtype in (np.float32, np.complex64) else np.float64)
                   for p in params]

        def validation_loss() -> float:
            # the release's: the mean of per-batch mean losses over a permutation (a remainder
            # batch weighs as much as a full one); for named losses one prediction of all samples
            order = batch_rng.permutation(X_val.shape[0])
            cuts = list(range(0, X_val.shape[0] - val_batch + 1, val_batch))
            batches = [order[c:c + val_batch] for c in cuts]
            if X_val.shape[0] % val_batch:
                batches.append(order[-(X_val.shape[0] % val_batch):])
            y_unc = None if Y_val_unc is None else np.asarray(Y_val_unc)
            if isinstance(loss_fn, str) and loss_fn in _losses.LOSSES:
                pred = self.predict(X_val)
                terms = _losses.entries(loss_fn, X_val, Y_val, y_unc, pred)
                terms = terms.reshape(terms.shape[0], -1).mean(axis=1)
                return float(np.mean([terms[idx].mean() for idx in batches]))
            return float(np.mean([self._loss(X_val[idx], None if Y_val is None else Y_val[idx],
                                             None if y_unc is None else y_unc[idx], loss_fn) for idx in batches]))

        def step(idx, epoch):
            _, grads = self.value_and_grad(X[idx], None if Y is None else Y[idx], loss_fn,
                                           None if Y_unc is None else np.asarray(Y_unc)[idx])
            rate = schedule(epoch)
            c1, c2 = 1 - b1 ** (epoch + 1), 1 - b2 ** (epoch + 1)
            for i, (x, g) in enumerate(zip(params, grads)):
                if np.iscomplexobj(x):
                    d = np.clip(g.real, -clip, clip) - 1j * np.clip(g.imag, -clip, clip)
                    mag2 = d.real ** 2 + d.imag ** 2
                else:
                    d = np.clip(g, -clip, clip)
                    mag2 = d * d
                m_state[i] = (b1 * m_state[i] + (1 - b1) * d).astype(x.dtype)
                v_state[i] = (b2 * v_state[i] + (1 - b2) * mag2).astype(v_state[i].dtype)
                params[i] = (x - rate * (m_state[i] / c1) / (np.sqrt(v_state[i] / c2) + eps)).astype(x.dtype)
            self.set_params(tuple(params))

        best = validation_loss()
        best_params = tuple(np.array(p) for p in params)
        patience = early_stopping_patience
        epoch = 0
        bar = _Progress(num_epochs, verbose)
        try:
            while epoch < num_epochs and best > convergence_threshold and patience > 0:
                order = batch_rng.permutation(N)
                full = N // batch_size
                for b in range(full):
                    step(order[b * batch_size:(b + 1) * batch_size], epoch)
                if N % batch_size:
                    step(order[full * batch_size:], epoch)
                val = validation_loss()
                if val <= best - early_stopping_tolerance:
                    patience = early_stopping_patience
                else:
                    patience -= 1
                if val < best:
                    best = val
                    best_params = tuple(np.array(p) for p in params)
                if callback is not None:
                    batch_rng, new_params = callback(batch_rng, epoch, tuple(np.array(p) for p in params))
                    params[:] = [np.asarray(p).astype(x.dtype) for p, x in zip(new_params, params)]
                    self.set_params(tuple(params))
                epoch += 1
                bar.update(epoch, val, best)
        except KeyboardInterrupt:
            warnings.warn(f"Training interrupted after {epoch} epochs; keeping the best parameters", UserWarning,
                          stacklevel=2)
        finally:
            bar.close()
        self.set_params(best_params)

    # -- save / load ---------------------------------------------------------------------
    def serialize(self) -> Dict[str, Any]:
        """The release's layout: module_typenames, module_modules, module_fulltypenames,
        module_names, serialized_modules, key_data, package_version."""
        return {
            "module_typenames": [type(m).__name__ for m in self.modules],
            "module_modules": [type(m).__module__ for m in self.modules],
            "module_fulltypenames": [str(type(m)) for m in self.modules],
            "module_names": [m.name() for m in self.modules],
            "serialized_modules": [m.serialize() for m in self.modules],
            "key_data": np.array(self.key_data, np.uint32),
            "package_version": _ffi.VERSION,
        }

    def deserialize(self, data: Dict[str, Any]) -> None:
        """Rebuilds the modules from serialize()'s dict (MFKit's or the release's): classes by
        name among MFKit's PMM modules, then each module's deserialize. The model must be
        compiled again before predicting (as in the release)."""
        if not isinstance(data, dict):
            raise TypeError(f"deserialize: data must be a dict made by serialize(), got {type(data).__name__}")
        missing = [k for k in ("module_typenames", "serialized_modules") if k not in data]
        if missing:
            raise ValueError(f"deserialize: data lacks the keys {missing}")
        classes = vars(sys.modules[__package__])  # the package's public classes
        names = [str(t) for t in np.asarray(data["module_typenames"]).tolist()]
        serialized = list(np.asarray(data["serialized_modules"], dtype=object).tolist())
        if len(names) != len(serialized):
            raise ValueError("module_typenames and serialized_modules have different lengths")
        modules = []
        for name, payload in zip(names, serialized):
            cls = classes.get(name)
            if not (isinstance(cls, type) and issubclass(cls, ModuleBase)):
                raise ValueError(f"Unknown module type {name!r}: MFKit has no such PMM module")
            module = cls()
            module.deserialize(payload)
            modules.append(module)
        self.modules = modules
        if "key_data" in data:
            self.key_data = np.asarray(data["key_data"], np.uint32).reshape(-1)
        self._changed()

    def save(self, filename: Union[str, os.PathLike]) -> None:
        """np.savez of serialize() (appends .npz), the release's file layout."""
        np.savez(_npz(filename), **_arrays(self.serialize()))

    def save_compressed(self, filename: Union[str, os.PathLike]) -> None:
        """As save, compressed."""
        np.savez_compressed(_npz(filename), **_arrays(self.serialize()))

    def load(self, filename: str) -> None:
        """Loads a file written by save() or by the release's Model.save: its pickled part is read
        with a restricted unpickler (NumPy arrays, MFKit's and the release's module classes, jax
        arrays as NumPy arrays; nothing else)."""
        path = _path(filename)
        try:
            with zipfile.ZipFile(path) as archive:
                data = {}
                for entry in archive.namelist():
                    key = entry[:-4] if entry.endswith(".npy") else entry
                    data[key] = _read_npy(archive.read(entry))
        except zipfile.BadZipFile:
            raise ValueError(f"{path} is not an .npz file written by Model.save") from None
        self.deserialize(data)

    @classmethod
    def from_file(cls, filename: str) -> "Model":
        """Model().load(filename)."""
        model = cls()
        model.load(filename)
        return model


def _module(module: Any) -> Any:
    if not isinstance(module, ModuleBase):
        raise TypeError(f"a Model holds MFKit PMM modules (mfkit.pmm), got {type(module).__name__}")
    return module


def _index(index: Any, length: int) -> int:
    """A Python index into a sequence of `length` (negative counts from the end)."""
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an integer, got {type(index).__name__}")
    if not -length <= index < length:
        raise ValueError(f"index {index} is out of range for {length} positions")
    return int(index)


def _path(filename: Any) -> str:
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a path (str or os.PathLike), got {type(filename).__name__}")
    return os.fspath(filename)


def _npz(filename: Any) -> str:
    path = _path(filename)
    return path if path.endswith(".npz") else f"{path}.npz"


def _arrays(data: Dict[str, Any]) -> Dict[str, np.ndarray]:
    out = {}
    for key, value in data.items():
        if key == "serialized_modules":
            array = np.empty(len(value), dtype=object)
            array[:] = value
            out[key] = array
        else:
            out[key] = np.asarray(value)
    return out


class _Progress:
    """A per-epoch progress bar: tqdm when installed, else one updated line on stdout."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled, self.total, self.bar = enabled, total, None
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, unit="epoch")
            except ImportError:
                self.bar = None

    def update(self, epoch: int, val: float, best: float) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(val=f"{val:.3e}", best=f"{best:.3e}")
        else:
            done = int(20 * epoch / max(1, self.total))
            sys.stdout.write(f"\r{epoch}/{self.total} | {val:.3e}/{best:.3e} [{'#' * done}{' ' * (20 - done)}]")
            sys.stdout.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stdout.write("\n")


# -- restricted unpickling ------------------------------------------------------------------
class _ForeignModule:
    """A module object of the release inside a pickle (hyperparameters' `modules`): its
    attributes are kept as a dict and never executed; Model.deserialize does not use them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_state"] = {}

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state


def _jax_array(fun: Callable, args: Tuple[Any, ...], arr_state: Any, aval_state: Any) -> np.ndarray:
    """jax._src.array._reconstruct_array as a NumPy array (the same bytes, dtype and shape)."""
    array = fun(*args)
    array.__setstate__(arr_state)
    return np.asarray(array)


_NUMPY = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
    ("numpy._core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("numpy.core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("jax._src.array", "_reconstruct_array"): _jax_array,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Allows only NumPy arrays and scalars, jax arrays (read as NumPy), MFKit's PMM classes and
    parametricmatrixmodels' module classes (read as inert `_ForeignModule` objects)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY:
            return _NUMPY[(module, name)]
        if module == "numpy.dtypes" and name.endswith("DType"):
            return getattr(np.dtypes, name)
        if module.startswith("parametricmatrixmodels.") and name.isidentifier():
            return type(name, (_ForeignModule,), {"__module__": module})
        if module.startswith("mfkit.pmm"):
            cls = vars(sys.modules[__package__]).get(name)
            if isinstance(cls, type) and issubclass(cls, ModuleBase):
                return cls
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a model file "
                                     "(only NumPy arrays and PMM modules are allowed)")


def _read_npy(raw: bytes) -> Any:
    """One .npy member: plain arrays by np.load; object arrays through the restricted unpickler."""
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
    except ValueError:
        raise ValueError("a model file member is not a .npy array") from None
    shape, fortran, dtype = (np.lib.format.read_array_header_1_0(stream) if version == (1, 0)
                             else np.lib.format.read_array_header_2_0(stream))
    if dtype.hasobject:   # NumPy pickles the whole object array after the header
        array = _RestrictedUnpickler(stream).load()
        if not isinstance(array, np.ndarray):
            raise ValueError("a model file's object array did not unpickle to an array")
        return array
    return np.load(io.BytesIO(raw), allow_pickle=False)
