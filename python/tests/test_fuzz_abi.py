"""A bounded fuzz run of the C ABI: every function declared in include/mfkit.h (read through
`_ffi.FUNCTIONS`, so a function added later is fuzzed with no change here) is called with
arguments generated from its parameter types: bad `mfkit_array` descriptors (unknown dtype
codes, ndim out of range, negative or huge lengths, zero, misaligned or non-multiple strides,
NULL data with elements, huge logical lengths with zero strides, outputs overlapping inputs or
themselves), NULL, garbage, freed and wrong-kind handles, extreme integers, NaN and infinite
doubles, NULL pointers and callbacks that stop, continue or return NaN.

Descriptors are always honest about memory: the buffer behind a descriptor covers every byte
it addresses (huge lengths only with zero strides), so whatever the library reads is real.

Each failing call must return a known nonzero status with a message "mfkit_x: ..." naming the
C function, and leave every buffer it was given (array data, scalar and handle outputs,
filled with sentinels) untouched. The run happens in a child process with a fixed seed, a
bounded number of cases and a 4 GB address-space limit (so an allocation the library should
refuse fails instead of touching memory): a crash or a hang is a failure of this test, with
the case that caused it.
"""
import ctypes
import json
import os
import random
import resource
import struct
import subprocess
import sys
from pathlib import Path

SEED = 8081
CASES_PER_FUNCTION = 100
TIMEOUT = 300  # seconds; the run takes a few seconds on an idle machine


def test_every_declared_function_survives_bad_arguments(tmp_path):
    from mfkit import _ffi
    log = tmp_path / "cases.log"
    done = subprocess.run([sys.executable, __file__, str(SEED), str(CASES_PER_FUNCTION), str(log)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    last = log.read_text().splitlines()[-1:] if log.exists() else ["(none)"]
    assert done.returncode == 0, (f"the fuzz run failed (exit {done.returncode}) at case {last[0]}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary["calls"]) == set(_ffi.FUNCTIONS), "some declared functions were never called"
    assert all(count >= CASES_PER_FUNCTION for count in summary["calls"].values())
    # The run reached more than the first check: some calls of most functions succeeded.
    assert sum(1 for v in summary["ok"].values() if v) >= len(_ffi.FUNCTIONS) // 2, summary["ok"]


# ---------------------------------------------------------------- the fuzz run (child process)
INT64 = [0, 1, 2, 3, 4, 5, 8, -1, -2, 2**31, 2**40, 2**62, 2**63 - 1, -(2**63)]
SMALL64 = [0, 1, 2, 3, 4, 5, 8, -1]
INT32 = [0, 1, 2, 3, 4, 5, 6, 8, 64, 65, -1, 2**31 - 1, -(2**31)]
DOUBLES = [0.0, 1.0, -1.0, 0.5, 2.5, float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324]
ITEMSIZE = {1: 4, 2: 8, 3: 8, 4: 16}
COUNT = 70          # every pointer to a list holds this many entries (the library reads at most 64)
SENTINEL = 0x5A5A5A5A5A5A5A5A
HUGE = [2**40, 2**45, 2**62, 2**63 - 1]


class Run:
    def __init__(self, seed, log):
        from mfkit import _ffi
        self.ffi = _ffi
        self.rng = random.Random(seed)
        self.log = log
        self.keep = []                       # Python objects and buffers kept alive
        self.handles = {t: [] for t in _ffi.OPAQUE}    # valid handles by type
        self.spare = {t: [] for t in _ffi.OPAQUE}      # valid handles a free function may take
        self.threads = _ffi.num_threads()
        self.seed_handles()
        # Per step-callback type (every callback but the objective: (user, step, ...) -> int):
        # NULL, stop at once, stop at step 2, a garbage nonzero stop, never stop.
        self.stoppers = {name: (t(), t(lambda user, step, *rest: 1), t(lambda user, step, *rest: int(step >= 2)),
                                t(lambda user, step, *rest: 42), t(lambda user, step, *rest: 0))
                         for name, t in _ffi.CALLBACKS.items() if name != "mfkit_objective"}
        objective = _ffi.OBJECTIVE
        self.objectives = [objective(self.quadratic), objective(lambda u, x, g, n: float("nan")),
                           objective(lambda u, x, g, n: float("inf")), objective(lambda u, x, g, n: 0.0)]

    @staticmethod
    def quadratic(user, x, grad, n):
        total = 0.0
        for i in range(min(n, 64)):
            total += x[i] * x[i]
            if grad:
                grad[i] = 2 * x[i]
        return total

    def seed_handles(self):
        """Valid handles of every known type, made through the Python package."""
        import numpy as np
        from mfkit import banded, pmm
        from mfkit import streaming_matrix as sm
        objects = [sm.prefix_sum(), sm.identity(), sm.momentum_sgd_matrix(0.9, [1.0, 0.5]) @ sm.diagonal([2.0]),
                   banded.ColumnNormalizedBanded.default(6, 2), banded.ColumnNormalizedBanded.default(3, 1)]
        objects.append(objects[3].inverse_as_streaming_matrix())
        objects += [objects[0].stream((3,), np.float64), objects[2].stream((), np.float32)]
        model = pmm.AffineHermitianMatrix(matrix_size=3, smoothing=0.1)
        model.compile(0, (2,))
        model(np.ones((1, 2)))
        objects.append(model)
        kinds = {sm.StreamingMatrix: "mfkit_streaming_matrix", sm.Stream: "mfkit_stream",
                 banded.ColumnNormalizedBanded: "mfkit_banded", pmm.AffineHermitianMatrix: "mfkit_pmm"}
        for obj in objects:
            self.handles[kinds[type(obj)]].append(obj._handle.value)
        self.keep += objects
        # Freed handles of every kind: objects made and collected (their finalizers free them).
        gone = [sm.prefix_sum(), sm.prefix_sum().stream(2), banded.ColumnNormalizedBanded.default(3, 1)]
        self.freed = [obj._handle.value for obj in gone]
        del gone

    # -- generators -------------------------------------------------------------------
    def pick(self, values):
        return values[self.rng.randrange(len(values))]

    def buffer(self, size):
        """A ctypes buffer of `size` bytes (+ slack): mostly doubles in [0.5, 2], sometimes
        random bytes (NaN, infinities, denormals, garbage)."""
        raw = (ctypes.c_char * (size + 64))()
        if self.rng.random() < 0.8:
            data = struct.pack("32d", *[self.rng.uniform(0.5, 2.0) for _ in range(32)])
        else:
            data = bytes(self.rng.getrandbits(8) for _ in range(256))
        ctypes.memmove(raw, (data * ((size + 64) // len(data) + 1))[:size + 64], size + 64)
        self.call_buffers.append(raw)
        return raw

    def descriptor(self, d):
        """Fills the mfkit_array `d` with a random, honest descriptor."""
        rng = self.rng
        roll = rng.random()
        d.dtype = self.pick([0, 5, -1, 2**31 - 1]) if roll < 0.05 else self.pick([2] * 7 + [1, 1, 3, 4])
        itemsize = ITEMSIZE.get(d.dtype, 16)
        ndim = rng.choice([0, 1, 1, 2, 2, 2, 3])
        if rng.random() < 0.05:
            ndim = self.pick([-1, 9, 100, 2**31 - 1, -(2**31)])
        d.ndim = ndim
        axes = max(0, min(ndim, 8))
        # Mostly the call's common size (so that arrays of one call often fit together).
        shape = [self.size if rng.random() < 0.7 else rng.choice([0, 1, 2, 3, 4, 6]) for _ in range(axes)]
        strides = [0] * axes
        step = itemsize
        for i in reversed(range(axes)):
            strides[i] = step
            step *= max(shape[i], 1)
        r = rng.random() if rng.random() < 0.5 else 1.0   # half of the arrays are well formed
        if axes and r < 0.1:      # negative lengths
            shape[rng.randrange(axes)] = self.pick([-1, -2, -(2**63)])
        elif axes and r < 0.25:   # huge logical lengths with zero strides (honest)
            if axes == 1 or rng.random() < 0.5:
                # one huge axis: the others empty (nothing addressed) or a single axis
                big = rng.randrange(axes)
                others = [i for i in range(axes) if i != big]
                if others:
                    shape[rng.choice(others)] = 0
                shape[big], strides[big] = self.pick(HUGE), 0
            else:
                # at least two huge axes: more elements than the library takes
                for i in rng.sample(range(axes), 2):
                    shape[i], strides[i] = self.pick(HUGE), 0
        elif axes and r < 0.35:   # zero / interleaved strides (fine for inputs, not outputs)
            strides[rng.randrange(axes)] = self.pick([0, itemsize // 2 or 1, itemsize])
        elif axes and r < 0.45:   # strides that are not whole elements
            strides[rng.randrange(axes)] = self.pick([1, 3, itemsize + 1, -3])
        elif axes and r < 0.65:   # reversed / permuted / stepped views
            for i in range(axes):
                strides[i] *= rng.choice([1, -1, 2])
            rng.shuffle(strides)
        for i in range(axes):
            d.shape[i], d.strides[i] = shape[i], strides[i]
        # The bytes addressed, lo..hi relative to data: the buffer covers them all.
        lo = hi = 0
        if all(n > 0 for n in shape):
            for n, s in zip(shape, strides):
                span = (n - 1) * s
                lo, hi = lo + min(0, span), hi + max(0, span)
        raw = self.buffer(hi - lo + 16)
        misalign = rng.choice([0, 0, 0, 0, 0, 0, 1, 4, 8])
        d.data = None if rng.random() < 0.05 else ctypes.addressof(raw) - lo + misalign

    def descriptors(self, previous):
        """A pointer to COUNT descriptors: a few random ones, then copies of a small valid one.
        Sometimes the very descriptors of an earlier argument (outputs overlapping inputs)."""
        if previous and self.rng.random() < 0.15:
            return self.rng.choice(previous)
        ds = (self.ffi.Array * COUNT)()
        for i in range(min(4, COUNT)):
            self.descriptor(ds[i])
        small = ds[4]
        small.dtype, small.ndim = 2, 1
        small.shape[0], small.strides[0] = 2, 8
        small.data = ctypes.addressof(self.buffer(16))
        for i in range(5, COUNT):
            ctypes.memmove(ctypes.addressof(ds[i]), ctypes.addressof(small), ctypes.sizeof(small))
        if previous and self.rng.random() < 0.2:   # same memory as an earlier array, shifted
            other = self.rng.choice(previous)
            ds[0].data = other[0].data
        previous.append(ds)
        return ds

    def handle(self, kind, free):
        rng = self.rng
        r = rng.random()
        pool = self.spare[kind] if free else self.handles[kind]
        if r < 0.55 and pool:
            h = rng.choice(pool)
            if free:
                pool.remove(h)
                self.freed.append(h)
            return h
        if r < 0.65:
            return None
        if r < 0.75 and self.freed:
            return rng.choice(self.freed)
        if r < 0.88:   # a handle of another kind
            others = [h for k, hs in self.handles.items() if k != kind for h in hs]
            return rng.choice(others) if others else 1
        return self.pick([1, 0xDEADBEEF, 2**64 - 8, ctypes.addressof(self.buffer(64))])

    def scalar_pointer(self, ctype):
        if self.rng.random() < 0.1:
            return None
        values = INT64 if ctype is ctypes.c_int64 else (DOUBLES if ctype is ctypes.c_double else INT32)
        buf = (ctype * COUNT)(*[self.pick(SMALL64 if self.rng.random() < 0.7 and ctype is ctypes.c_int64 else values)
                                for _ in range(COUNT)])
        self.call_buffers.append(buf)
        return buf

    def arguments(self, name, params):
        """Arguments for one call, from the parameters' C types."""
        args, previous, outs = [], [], []
        max_steps_huge = False
        for pname, ctype in params:
            text = ctype.replace("const", " ").strip()
            stars = text.count("*")
            base = text.replace("*", " ").split()[0]
            if base == "mfkit_array" and stars == 1:
                args.append(None if self.rng.random() < 0.05 else self.descriptors(previous))
            elif base in self.ffi.OPAQUE and stars == 1:
                args.append(self.handle(base, free=name.endswith("_free")))
            elif base in self.ffi.OPAQUE and stars == 2:
                if self.rng.random() < 0.1:
                    args.append(None)
                else:
                    out = ctypes.c_void_p(SENTINEL)
                    outs.append((base, out))
                    self.call_buffers.append(out)
                    args.append(ctypes.byref(out))
            elif base in self.stoppers:
                args.append(("callback", base))     # chosen below, once max_steps is known
            elif base == "mfkit_objective":
                args.append(self.ffi.OBJECTIVE() if self.rng.random() < 0.1 else self.rng.choice(self.objectives))
            elif base == "void" and stars == 1:
                args.append(self.pick([None, 0x1234]))
            elif base == "char" and stars == 1:
                args.append(self.pick([None, b"", b"garbage"]))
            elif base == "char" and stars == 2:   # an output C string (static storage)
                out = ctypes.c_char_p(None)
                self.call_buffers.append(out)
                args.append(None if self.rng.random() < 0.3 else ctypes.byref(out))
            elif stars == 1:
                args.append(self.scalar_pointer(self.ffi._ctype(base)))
            elif stars == 0 and self.ffi._ctype(base) is ctypes.c_double:
                args.append(self.pick(DOUBLES))
            elif stars == 0 and self.ffi._ctype(base) is ctypes.c_int64:
                value = self.pick(INT64) if self.rng.random() < 0.5 else self.pick(SMALL64)
                if pname == "max_steps":
                    value = self.pick([-1, 0, 1, 3, 2**63 - 1])
                    max_steps_huge = value > 3
                args.append(value)
            elif stars == 0:
                args.append(self.pick(INT32) if self.rng.random() < 0.5 else self.rng.choice([0, 1, 2, 3]))
            else:
                raise AssertionError(f"the fuzzer has no generator for {ctype!r} ({name}); add one")
        def stopper(kind):
            null, now, at_2, garbage, go_on = self.stoppers[kind]
            return self.rng.choice([now, at_2, garbage] if max_steps_huge else [null, now, at_2, garbage, go_on])
        args = [stopper(a[1]) if isinstance(a, tuple) and a[:1] == ("callback",) else a for a in args]
        return args, outs

    # -- one call ---------------------------------------------------------------------
    def call(self, name, params, index):
        self.call_buffers = []
        self.size = self.rng.choice([1, 2, 3, 4, 6])
        args, outs = self.arguments(name, params)
        before = [bytes(memoryview(b).cast("B")) for b in self.call_buffers]
        self.log.write(f"{name} #{index}: {describe(args)}\n")
        self.log.flush()
        status = getattr(self.ffi.lib, name)(*args)
        ret = self.ffi.FUNCTIONS[name][0]
        if ret != "mfkit_status":
            return True
        if name == "mfkit_set_num_threads":
            self.ffi.lib.mfkit_set_num_threads(self.threads)
        if status == self.ffi.MFKIT_OK:
            for kind, out in outs:
                assert out.value not in (None, SENTINEL), f"{name} succeeded without writing its handle"
                if self.rng.random() < 0.5:
                    self.handles[kind].append(out.value)
                else:
                    self.spare[kind].append(out.value)
            return True
        message = self.ffi.lib.mfkit_last_error().decode(errors="replace")
        assert status in self.ffi.ERRORS, f"{name} returned the unknown status {status}"
        assert status != self.ffi.MFKIT_ERR_INTERNAL, f"{name}: internal error: {message}"
        assert message.startswith(f"{name}: ") and len(message) > len(name) + 2, \
            f"{name} failed (status {status}) with the message {message!r}"
        after = [bytes(memoryview(b).cast("B")) for b in self.call_buffers]
        assert before == after, f"{name} failed ({message}) but wrote into a buffer it was given"
        return False


def describe(args):
    out = []
    for a in args:
        if isinstance(a, ctypes.Array) and hasattr(a[0], "ndim"):
            d = a[0]
            nd = max(0, min(d.ndim, 8))
            out.append(f"array(dtype={d.dtype}, ndim={d.ndim}, shape={list(d.shape[:nd])}, "
                       f"strides={list(d.strides[:nd])}, data={'NULL' if not d.data else hex(d.data)})")
        else:
            out.append(type(a).__name__ if isinstance(a, (ctypes.Array, ctypes._Pointer, ctypes._CFuncPtr))
                       else repr(a))
    return ", ".join(out)


def main(seed, cases, log_path):
    limit = 4 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("MFKIT_NUM_THREADS", "2")
    with open(log_path, "w") as log:
        run = Run(seed, log)
        calls = {name: 0 for name in run.ffi.FUNCTIONS}
        ok = {name: 0 for name in run.ffi.FUNCTIONS}
        order = [name for name in run.ffi.FUNCTIONS for _ in range(cases)]
        run.rng.shuffle(order)
        for i, name in enumerate(order):
            calls[name] += 1
            ok[name] += run.call(name, run.ffi.FUNCTIONS[name][1], i)
    print(json.dumps({"calls": calls, "ok": ok}))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
