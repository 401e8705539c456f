"""The runtime-only venv `.venv-runtime`: the kit installed by docker/Dockerfile's pip line, no extras.

Tests get it from the ``runtime_python`` fixture (conftest.py); ``python tests/runtime_env.py`` creates it
and prints its python. It is built once and again only when pyproject.toml or that pip line changes.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-runtime"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
#: Seconds the pip install may take (a cold cache downloads the whole Jupyter stack).
INSTALL_TIMEOUT = 900


def dockerfile_pip_args(text: str | None = None) -> list[str]:
    """The arguments after ``pip install`` on the Dockerfile's ``RUN`` line that installs the kit (``.``)."""
    text = DOCKERFILE.read_text() if text is None else text
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["RUN", "pip", "install"] and ("." in words or "-e" in words):
            return words[3:]
    raise LookupError("docker/Dockerfile has no 'RUN pip install ... .' line that installs the kit")


def _fingerprint(args: list[str]) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(shlex.join(args).encode())
    return digest.hexdigest()


def _uv() -> str | None:
    return shutil.which("uv") or next(
        (str(p) for p in [ROOT / ".uv" / "bin" / "uv"] if p.exists()), None
    )


def _create(venv: Path) -> None:
    """A fresh venv with pip in it (the Dockerfile runs pip, so this does too)."""
    base = getattr(sys, "_base_executable", sys.executable)
    uv = _uv()
    cmd = [uv, "venv", "--clear", "--seed", "--python", base, str(venv)] if uv else None
    cmd = cmd or [base, "-m", "venv", "--clear", str(venv)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def runtime_python(venv: Path = VENV) -> Path:
    """The python of ``venv``, created and filled with the Dockerfile's pip line unless it is current."""
    args = dockerfile_pip_args()
    stamp, python = venv / ".installed", venv / "bin" / "python"
    want = _fingerprint(args)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    _create(venv)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    run = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    if run.returncode:
        raise RuntimeError(
            f"pip install {shlex.join(args)} failed in {venv.name} ({run.returncode}):\n"
            f"{run.stderr[-3000:]}\nFix the Dockerfile's pip line or pyproject.toml's dependencies."
        )
    stamp.write_text(want)
    return python


def runtime_env(python: Path) -> dict[str, str]:
    """Environment for a process of the runtime venv: its bin/ first on PATH, nothing of the test venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    own = os.path.join(sys.prefix, "bin")  # the test venv's programs stay out of reach
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != own]
    env["PATH"] = os.pathsep.join([str(python.parent), *path])
    return env


if __name__ == "__main__":
    print(runtime_python())
