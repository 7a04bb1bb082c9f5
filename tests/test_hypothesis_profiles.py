"""CI is repeatable: `make test` (and so .ci/run) runs the property-based tests in the derandomized `ci` profile,
which tries the same examples on every run; `make fuzz` runs every property-based test, and only those, with
many fresh random examples (profiles in tests/conftest.py)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def drawn(profile: str) -> list[int]:
    """The examples a property-based test is given in `profile`."""
    seen: list[int] = []

    @settings(settings.get_profile(profile), max_examples=30)
    @given(st.integers())
    def record(number: int) -> None:
        seen.append(number)

    record()
    return seen


def test_the_ci_profile_draws_the_same_examples_on_every_run() -> None:
    assert drawn("ci") == drawn("ci")
    assert drawn("fuzz") != drawn("fuzz")  # the hunt tries new ones
    assert settings.get_profile("fuzz").max_examples >= 10 * settings.get_profile("ci").max_examples


def test_the_profiles_hold_where_a_ci_service_sets_its_variables() -> None:
    """Hypothesis loads its own derandomized `ci` profile by default when it sees CI=true (GitHub Actions, the
    project's CI), and a profile registered without a parent inherits from it: `fuzz` would hunt nothing new."""
    test = f"{Path(__file__).relative_to(ROOT)}::test_the_ci_profile_draws_the_same_examples_on_every_run"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    assert run.returncode == 0, run.stdout[-2000:]


def make_dry_run(target: str) -> list[str]:
    """The pytest command lines `make TARGET` would run."""
    output = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in output.splitlines() if "-m pytest" in line]


def test_make_test_runs_every_pytest_in_the_ci_profile() -> None:
    """make test runs tests/run_passes.sh, whose every pytest goes through its PYTEST command in the ci profile."""
    assert any(
        line.strip().endswith("tests/run_passes.sh")
        for line in subprocess.run(
            ["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    )
    script = (ROOT / "tests" / "run_passes.sh").read_text().splitlines()
    [definition] = [line for line in script if line.startswith("PYTEST=")]
    assert "-m pytest --hypothesis-profile=ci" in definition
    runs = [
        line for line in script if "pytest" in line.lower() and not line.lstrip().startswith("#") and line != definition
    ]
    assert len(runs) >= 3 and all('"${PYTEST[@]}"' in line for line in runs), runs
    assert all("--hypothesis-profile=ci" in command for command in make_dry_run("test-fast"))


def test_make_fuzz_runs_the_property_based_tests_in_the_fuzz_profile() -> None:
    [command] = make_dry_run("fuzz")
    assert "--hypothesis-profile=fuzz" in command and "-m hypothesis" in command


def _uses_given(node: ast.AST) -> bool:
    return any(
        isinstance(inner, (ast.Name, ast.Attribute)) and getattr(inner, "id", getattr(inner, "attr", "")) == "given"
        for inner in ast.walk(node)
    )


def _marked_hypothesis(function: ast.FunctionDef) -> bool:
    return any(ast.unparse(decorator) == "pytest.mark.hypothesis" for decorator in function.decorator_list)


def test_every_property_based_test_is_selected_by_make_fuzz() -> None:
    """Hypothesis marks a test decorated with @given itself; one that runs a @given function inside (to use its
    fixtures between examples) must carry @pytest.mark.hypothesis, or `make fuzz` would leave it out."""
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and _uses_given(node):
                decorated = any(_uses_given(decorator) for decorator in node.decorator_list)
                if not decorated and not _marked_hypothesis(node):
                    unmarked.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert unmarked == []
