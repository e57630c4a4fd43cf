"""Progress of long work (optimizers): a `tqdm.auto` bar showing the loss when tqdm is
installed (a widget in a notebook), else printed lines. One helper for every optimizer:

    with Progress(progress, total=steps, desc="optimize") as bar:
        ...
        bar.update(step, loss, grad_norm=g)     # step counts from 0
        bar.restart("optimize (run 2)")         # another run of `total` steps

`progress` is the optimizers' argument: False (nothing), True (a bar, or a line about every
total / 20 steps), or an int (a line every that many steps; a bar refreshes every step).
Cost: O(1) per step (tqdm limits its own redraws).
"""
import importlib


def _tqdm():
    """tqdm.auto.tqdm, or None when tqdm is not installed."""
    try:
        return importlib.import_module("tqdm.auto").tqdm
    except ImportError:
        return None


class Progress:
    """A progress display for `total` steps named `desc` (see the module docstring)."""

    def __init__(self, progress, total, desc):
        self.total, self.desc, self.bar, self.every = int(total), desc, None, 0
        if not progress:
            return
        tqdm = _tqdm()
        if tqdm is not None:
            self.bar = tqdm(total=self.total, desc=desc, unit="step", leave=True)
        else:
            self.every = int(progress) if not isinstance(progress, bool) else max(1, self.total // 20)

    def update(self, step, loss, grad_norm=None):
        """Reports step `step` (from 0) with its loss (and gradient norm)."""
        if self.bar is not None:
            fields = {"loss": f"{loss:.8g}"}
            if grad_norm is not None:
                fields["grad_norm"] = f"{grad_norm:.3g}"
            self.bar.set_postfix(fields, refresh=False)
            self.bar.update(step + 1 - self.bar.n)
        elif self.every and (step % self.every == 0 or step == self.total - 1):
            line = f"{self.desc}: step {step + 1}/{self.total}  loss {loss:.8g}"
            if grad_norm is not None:
                line += f"  grad norm {grad_norm:.3g}"
            print(line, flush=True)

    def restart(self, desc):
        """Starts a new display named `desc` for another run of `total` steps (a new bar; the
        finished one stays on screen)."""
        self.desc = desc
        if self.bar is not None:
            self.bar.close()
            self.bar = _tqdm()(total=self.total, desc=desc, unit="step", leave=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
