"""Shell completion: the scripts for bash, zsh and fish, and the completion of --funnel and
--macro from the config on the command line (or funnels.yaml) and of --report from the registry."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers import EXAMPLE_CONFIG
from microconv.cli import app

EXAMPLE_FUNNELS = ["checkout", "pricing_to_purchase", "cart_to_purchase", "product_to_cart_strict",
                   "engagement_any_order"]


def _microconv() -> list[str]:
    script = shutil.which("microconv", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "microconv"]


@pytest.mark.parametrize("shell,start", [("bash", "_microconv_completion() {"), ("zsh", "#compdef microconv"),
                                         ("fish", "complete --command microconv")])
def test_show_completion_prints_the_script_of_the_shell_named(shell, start):
    done = subprocess.run([*_microconv(), "--show-completion", shell], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(start) and "_MICROCONV_COMPLETE" in done.stdout


def _complete(runner, words: str, cwd=ROOT) -> list[str]:
    """What bash completion offers for the last word of ``words`` (typer's bash protocol)."""
    env = {"_MICROCONV_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, [], env=env, prog_name="microconv", catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


def test_funnel_names_come_from_the_config(runner):
    assert _complete(runner, f"microconv analyze x.csv -c {EXAMPLE_CONFIG} --funnel ") == EXAMPLE_FUNNELS
    assert _complete(runner, f"microconv paths x.csv -c {EXAMPLE_CONFIG} --funnel p") == [
        "pricing_to_purchase", "product_to_cart_strict"]
    assert _complete(runner, f"microconv analyze x.csv --config {EXAMPLE_CONFIG} --macro ") == ["purchase", "big_purchase",
                                                                                                "small_purchase"]


def test_funnel_names_of_funnels_yaml_by_default_and_none_without_a_config(runner, tmp_path):
    assert _complete(runner, "microconv users x.csv --funnel ", cwd=tmp_path) == []        # no funnels.yaml: quiet
    (tmp_path / "funnels.yaml").write_text("funnels:\n  signup: {steps: [{event: a}]}\n")
    assert _complete(runner, "microconv users x.csv --funnel ", cwd=tmp_path) == ["signup"]
    (tmp_path / "funnels.yaml").write_text("funnels: [not, a, mapping\n")
    assert _complete(runner, "microconv users x.csv --funnel ", cwd=tmp_path) == []        # invalid: quiet


def test_report_names_complete(runner):
    assert _complete(runner, "microconv analyze x.csv --report b") == ["breakdown", "breakdown_steps"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_runs_the_script_and_completes_a_funnel_name():
    """The script in a real bash: the completion function, called as bash calls it, offers the
    example config's funnel that starts with 'ch'."""
    bin_dir = os.path.dirname(_microconv()[0]) if len(_microconv()) == 1 else None
    if bin_dir is None:
        pytest.skip("no microconv script beside the interpreter")
    line = (f'source <(microconv --show-completion bash); COMP_WORDS=(microconv analyze x.csv -c {EXAMPLE_CONFIG} '
            '--funnel ch); COMP_CWORD=6; _microconv_completion microconv; printf "%s\\n" "${COMPREPLY[@]}"')
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["checkout"]


@pytest.mark.parametrize("shell,path", [("bash", ".bash_completions/microconv.sh"),
                                        ("fish", ".config/fish/completions/microconv.fish")])
def test_install_completion_writes_the_script_under_home(tmp_path, shell, path):
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run([*_microconv(), "--install-completion", shell], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{shell} completion installed in {tmp_path / path}" in done.stdout
    assert "_MICROCONV_COMPLETE" in (tmp_path / path).read_text()
