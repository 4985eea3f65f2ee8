"""``make mutation``: mutation testing (mutmut 3) of the statistics core and the permission rules.

Each module is mutated on its own, with only the tests that speak for it (``TILSYN_MUTATION_TESTS``,
read by ``tests/conftest.py``) and one worker (``--max-children 1``: the machine is shared).
mutmut's own settings are in ``pyproject.toml`` (``[tool.mutmut]``). Prints every module's score,
``killed / mutants`` (timeouts count as killed, mutants no test reaches as survivors), and its
survivors; the survivors left on purpose are explained in docs/statistics.md, appendix B.

Usage: ``python tests/infra/mutation.py [estimation|sampling|permissions ...]``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTMUT = Path(sys.executable).with_name("mutmut")

#: short name -> (module file, tests that speak for it, required score)
MODULES: dict[str, tuple[str, str, float]] = {
    "estimation": ("tilsyn/stats/estimation.py", "tests/stats/", 0.95),
    "sampling": ("tilsyn/stats/sampling.py", "tests/stats/", 0.95),
    # tests/test_access.py (every route for every role) also speaks for the permissions, but
    # costs minutes per surviving mutant; tests/test_permissions.py covers the same rules.
    "permissions": (
        "tilsyn/permissions.py",
        "tests/test_permissions.py tests/rounds/test_permissions.py",
        0.90,
    ),
}
KILLED = {1, 3, 24, -24, 36, 37, 152, 255}  # killed, pytest error, timeouts, type check


def score(module_file: str) -> tuple[int, int, list[str]]:
    """Killed and total mutants of ``module_file`` and the names of the others."""
    meta = json.loads((ROOT / "mutants" / f"{module_file}.meta").read_text())
    codes: dict[str, int | None] = meta["exit_code_by_key"]
    left = sorted(name for name, code in codes.items() if code not in KILLED)
    return len(codes) - len(left), len(codes), left


def run(name: str) -> bool:
    module_file, tests, goal = MODULES[name]
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # fresh stats for this test selection
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TILSYN_MUTATION_TESTS"] = tests
    dotted = module_file.removesuffix(".py").replace("/", ".")
    subprocess.run(
        [str(MUTMUT), "run", "--max-children", "1", f"{dotted}.*"],
        cwd=ROOT,
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    killed, total, left = score(module_file)
    share = killed / total if total else 0.0
    print(f"{module_file}: {killed}/{total} mutants killed = {share:.1%} (goal {goal:.0%})")
    for mutant in left:
        print(f"    survived: {mutant}")
    return share >= goal


def main(argv: list[str]) -> int:
    names = argv or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown module(s): {', '.join(unknown)}; choose from {', '.join(MODULES)}")
        return 2
    results = [run(name) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
