"""`holter run`: the program runs as python would run it, traced."""
import json
import os
import subprocess
import sys

from conftest import PROGRAMS, marks

TARGET = PROGRAMS / "cli_target.py"


def holter_run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "holter", "run", "--port", "0", "--quiet", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_script_runs_as_main_with_its_argv_and_is_traced():
    out = holter_run(str(TARGET), "x", "--flag")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["argv"] == [str(TARGET), "x", "--flag"]
    assert info["name"] == "__main__"
    assert info["path0"] == str(PROGRAMS)
    assert info["counts"][str(marks(TARGET)["loop"])] == 10
    assert info["status"] == {"tracing": True, "serving": True}
    assert out.stderr == ""


def test_exit_code_and_traceback_are_the_programs():
    assert holter_run(str(TARGET), "7").returncode == 7
    plain = subprocess.run([sys.executable, str(TARGET), "fail"], capture_output=True,
                           text=True, timeout=60)
    under = holter_run(str(TARGET), "fail")
    assert under.returncode == plain.returncode == 1
    assert under.stderr == plain.stderr
    assert "holter" not in under.stderr.replace(str(TARGET), "")


def test_module_mode():
    out = holter_run("-m", "clipkg", "arg", cwd=PROGRAMS)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    main = PROGRAMS / "clipkg" / "__main__.py"
    assert info["argv"] == [str(main), "arg"]
    assert info["name"] == "__main__"
    assert info["counts"][str(marks(main)["total"])] == 1


def test_bad_command_lines_exit_2_with_one_line():
    out = holter_run("no_such_script.py")
    assert out.returncode == 2 and "can't open file" in out.stderr
    out = holter_run("-m", "no_such_module_xyz")
    assert out.returncode == 2 and "no module named" in out.stderr


def test_url_is_printed_on_stderr_not_stdout():
    out = subprocess.run([sys.executable, "-m", "holter", "run", "--port", "0", str(TARGET)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stderr.startswith("holter: watching this program at http://127.0.0.1:")
    json.loads(out.stdout)          # stdout is the program's alone
