"""Builds libmfkit.so with the Swift toolchain and ships it inside the `mfkit` package.

`pip install -e python` (or `pip install python`) runs `swift build -c release` at the
repository root and copies the library and its header (include/mfkit.h, which the package
reads its C declarations from) next to mfkit/__init__.py, where `import mfkit` finds them. The
package's version is the header's (MFKIT_VERSION_MAJOR/MINOR/PATCH).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIB = "libmfkit.so"
HEADER = ROOT / "include" / "mfkit.h"


def header_version():
    """major.minor.patch from include/mfkit.h, the one source of MFKit's version."""
    text = HEADER.read_text(encoding="utf-8")
    parts = [re.search(rf"#define MFKIT_VERSION_{p}\s+(\d+)", text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


def swift_executable():
    found = shutil.which("swift")
    if found:
        return found
    for candidate in ("/opt/swift/usr/bin/swift", "/usr/bin/swift"):
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("the Swift toolchain (swift) is needed to build libmfkit.so; put it on PATH")


def build_library():
    swift = swift_executable()
    subprocess.run([swift, "build", "-c", "release", "--product", "mfkit"], cwd=ROOT, check=True)
    built = ROOT / ".build" / "release" / LIB
    if not built.exists():
        raise RuntimeError(f"swift build did not produce {built}")
    target = HERE / "mfkit" / LIB
    tmp = target.with_suffix(".so.tmp")
    shutil.copy2(built, tmp)
    os.replace(tmp, target)  # atomic: a running interpreter keeps its mapped copy
    shutil.copy2(HEADER, HERE / "mfkit" / HEADER.name)
    return target


class BuildWithSwift(build_py):
    def run(self):
        library = build_library()
        super().run()
        if not getattr(self, "editable_mode", False):
            dest = Path(self.build_lib) / "mfkit"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, dest / LIB)
            shutil.copy2(HEADER, dest / HEADER.name)


setup(version=header_version(), cmdclass={"build_py": BuildWithSwift})
