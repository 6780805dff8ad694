"""The README's two commands are the ones CI runs, so they stay true."""

import re

from conftest import ROOT


def ci_command(marker: str) -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return lines[lines.index(f"# {marker}") + 1].strip()


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    commands = {line.strip() for block in blocks for line in block.splitlines()}
    assert ci_command("README-INSTALL") in commands
    assert ci_command("README-TEST") in commands
