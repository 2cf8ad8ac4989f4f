"""The original Cylinder 0.2.2 from the package index, measured in a virtual environment of its own.

Its distribution is named ``cylinder``, like the new one: installed next to the local packages
it would replace them. So this script makes (or reuses) a virtual environment under
``benchmarks/.venv-original`` (``--venv`` to choose another folder), installs
``cylinder==0.2.2`` with its dependency (Werkzeug) and waitress there, and runs
``original_driver.py`` with that environment's Python: it builds the same site, measures the
same routes the same way (a bare Werkzeug app alongside, in the same process) and prints JSON.

``inprocess.py --with-original`` calls this module; ``real_socket.py`` no longer
serves the original.

Run from the repository root::

    hatch run bench:original
    python benchmarks/original.py --runs 5 --seconds 0.4
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VENV = os.path.join(HERE, ".venv-original")
DRIVER = os.path.join(HERE, "original_driver.py")
REQUIREMENTS = ("cylinder==0.2.2", "waitress>=3.0")


def venv_python(venv: str) -> str:
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


def _clean_env() -> dict[str, str]:
    """The environment for the other interpreter: nothing that would put this environment's
    packages (the new ``cylinder``) on its path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def ensure_venv(venv: str = DEFAULT_VENV) -> str:
    """Make the original's virtual environment unless it is there and ready; return its Python.

    :raises subprocess.CalledProcessError: when the environment cannot be made or filled.
    """
    python = venv_python(venv)
    check = [python, "-c", "import importlib.metadata as m, waitress; print(m.version('cylinder'))"]
    if os.path.exists(python):
        found = subprocess.run(check, capture_output=True, text=True, env=_clean_env())
        if found.returncode == 0 and found.stdout.strip() == "0.2.2":
            return python
    if not os.path.exists(python):
        print(f"making {venv} for the original Cylinder", file=sys.stderr)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", venv], check=True, env=_clean_env())
    print(f"installing {' '.join(REQUIREMENTS)} into {venv}", file=sys.stderr)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
        check=True,
        env=_clean_env(),
    )
    return python


def driver_command(python: str, *args: str) -> list[str]:
    """The command that runs ``original_driver.py`` with the original's Python.

    ``-s`` leaves the user's site-packages out; the driver's own folder comes first on the path
    (for ``_bench``), and nothing else from here does.
    """
    return [python, "-s", DRIVER, *args]


def run_original(
    runs: int, seconds: float, routes: list[str], venv: str = DEFAULT_VENV
) -> dict[str, Any] | None:
    """Measure the original in its environment; ``None`` (and why, on stderr) if it cannot be."""
    try:
        python = ensure_venv(venv)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"could not prepare the original's environment {venv}: {exc}", file=sys.stderr)
        return None
    command = driver_command(
        python,
        "measure",
        "--runs",
        str(runs),
        "--seconds",
        str(seconds),
        "--routes",
        ",".join(routes),
    )
    print(f"measuring the original: {shlex.join(command)}", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, env=_clean_env())
    if done.returncode != 0:
        print(f"the original's driver failed ({done.returncode}):\n{done.stderr}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    result["command"] = shlex.join(command)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per app and route")
    parser.add_argument("--seconds", type=float, default=0.4, help="about how long one run is")
    parser.add_argument("--routes", default="root,deep,static", help="comma-separated routes")
    parser.add_argument("--venv", default=DEFAULT_VENV, help="the original's virtual environment")
    parser.add_argument("--json", action="store_true", help="print the driver's JSON as it is")
    args = parser.parse_args()
    routes = [route for route in args.routes.split(",") if route]
    result = run_original(args.runs, args.seconds, routes, args.venv)
    if result is None:
        sys.exit(1)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"command: {shlex.join(['python', *sys.argv])}")
    print(f"driver: {result['command']}")
    print(result["machine"])
    print(f"cylinder {result['cylinder_version']}, werkzeug {result['werkzeug_version']}")
    print(
        f"in-process WSGI, median of {args.runs} runs of about {args.seconds}s; requests/second\n"
    )
    print(f"{'level':<9}{'route':<8}{'original':>12}{'werkzeug':>12}{'original/werkzeug':>20}")
    for level, figures in result["levels"].items():
        for route in routes:
            old = figures["rates"]["original"][route]
            floor = figures["rates"]["werkzeug"][route]
            print(f"{level:<9}{route:<8}{old:>12,.0f}{floor:>12,.0f}{old / floor:>20.3f}")
    print("\nfreshness: the root handler edited between two requests, twice in a row")
    for level, figures in result["levels"].items():
        problems = figures["freshness"]
        print(f"  original-{level}: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")


if __name__ == "__main__":
    main()
