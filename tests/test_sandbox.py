"""The code sandbox: code and its tests run in a separate, limited process; what it
refuses (network, processes, memory, writes and removals outside its directory) is
refused even when the code catches the refusal, and nothing outlives a run."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from howsure.coding.sandbox import SCRATCH_PREFIX, Limits, RunResult, run_many, run_tests

FAST = Limits(timeout_s=3, memory_mb=512)
ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\n"


def run(code: str, tests: str = "assert True\n", **kwargs) -> RunResult:
    return run_tests(code, tests, limits=kwargs.pop("limits", FAST), **kwargs)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Scratch directories go under a folder of this test's own (so that sandboxes run by
    other processes at the same time do not count)."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def sandbox_processes(marker: str) -> list[str]:
    """The command lines of live processes that mention ``marker``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


def test_passing_code_passes() -> None:
    result = run(ADD, ADD_TESTS)
    assert result.outcome == "passed" and result.passed and result.reason == "passed"
    assert 0 < result.seconds < 3
    assert json.loads(json.dumps(result.to_dict())) == {
        "outcome": "passed",
        "reason": "passed",
        "seconds": result.seconds,
    }


def test_wrong_code_fails_with_the_assertion_and_its_line() -> None:
    wrong = "def add(a, b):\n    return a - b\n"
    result = run(wrong, "x = 1\nassert add(1, 2) == 3, 'add(1, 2) should be 3'\n")
    assert result.outcome == "failed" and not result.passed
    assert result.reason == "AssertionError: add(1, 2) should be 3 (line 2 of the tests)"
    bare = run(wrong, "assert add(1, 2) == 3\n")  # no message: the failing line instead
    assert bare.outcome == "failed"
    assert "assert add(1, 2) == 3" in bare.reason and "line 1 of the tests" in bare.reason


def test_exceptions_in_the_tests_fail_and_name_where() -> None:
    result = run("def add(a, b):\n    return a / 0\n", ADD_TESTS)
    assert result.outcome == "failed"
    assert result.reason == "ZeroDivisionError: division by zero (line 2 of the code)"
    deep = run("def f(n):\n    return f(n + 1)\n", "f(0)\n")
    assert deep.outcome == "failed" and deep.reason.startswith("RecursionError")


def test_code_that_does_not_load_is_an_error() -> None:
    syntax = run("def add(a, b)\n    return a + b\n", ADD_TESTS)
    assert syntax.outcome == "error"
    assert syntax.reason.startswith("SyntaxError in the code:") and "(line 1)" in syntax.reason
    top = run("x = 1\nraise KeyError('k')\n")
    assert top.outcome == "error" and top.reason == "KeyError in the code: 'k' (line 2)"


def test_the_codes_main_block_does_not_run_the_tests_main_block_does() -> None:
    code = ADD + "if __name__ == '__main__':\n    raise SystemExit(1)\n"
    tests = "if __name__ == '__main__':\n    assert add(1, 2) == 4\n"
    result = run(code, tests)
    assert result.outcome == "failed" and "AssertionError" in result.reason


def test_bad_inputs_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match=r"tests do not parse.*SyntaxError.*broken task"):
        run_tests(ADD, "assert add(1, 2) == 3 +\n")
    with pytest.raises(ValueError, match="tests are empty"):
        run_tests(ADD, "  \n")
    with pytest.raises(TypeError, match="code must be a str"):
        run_tests(b"def f(): pass", ADD_TESTS)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tests must be a str"):
        run_tests(ADD, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="limits must be a Limits"):
        run_tests(ADD, ADD_TESTS, limits={"timeout_s": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="define no check"):
        run_tests(ADD, ADD_TESTS, entry_point="add")
    with pytest.raises(ValueError, match="not a function name"):
        run_tests(ADD, "def check(c):\n    pass\n", entry_point="a b")
    with pytest.raises(TypeError, match=r"jobs\[1\]: code must be a str"):
        run_many([(ADD, ADD_TESTS), (1, ADD_TESTS)], progress=False)
    with pytest.raises(ValueError, match=r"jobs\[0\]: the tests do not parse"):
        run_many([(ADD, "assert (")], progress=False)
    with pytest.raises(TypeError, match=r"jobs\[0\] must be a \(code, tests\)"):
        run_many([ADD], progress=False)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="workers=0"):
        run_many([(ADD, ADD_TESTS)], workers=0, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timeout_s": 0}, ValueError, "timeout_s=0"),
        ({"timeout_s": float("inf")}, ValueError, "timeout_s=inf"),
        ({"timeout_s": "3"}, TypeError, "timeout_s must be a number"),
        ({"cpu_s": -1}, ValueError, "cpu_s=-1"),
        ({"cpu_s": 1.5}, TypeError, "cpu_s must be an int"),
        ({"memory_mb": 16}, ValueError, "memory_mb=16.*>= 64"),
        ({"file_mb": 0}, ValueError, "file_mb=0"),
        ({"open_files": True}, TypeError, "open_files must be an int"),
        ({"open_files": 2}, ValueError, "open_files=2"),
    ],
)
def test_limits_are_checked(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Limits(**kwargs)


def test_an_endless_loop_times_out_on_time() -> None:
    start = time.perf_counter()
    result = run("while True:\n    pass\n")
    assert time.perf_counter() - start < FAST.timeout_s + 3
    assert result.outcome == "timeout" and result.reason == "timed out after 3 s"
    cpu = run("while True:\n    pass\n", limits=Limits(timeout_s=5, cpu_s=1, memory_mb=512))
    assert cpu.outcome == "timeout" and "CPU time limit 1 s" in cpu.reason


def test_too_much_memory_or_file_is_refused() -> None:
    result = run("b = bytearray(10 * 2**30)\n")
    assert result.outcome == "refused"
    assert result.reason == "refused: memory limit 512 MB (MemoryError)"
    big = run("open('big', 'wb').write(b'x' * (20 * 2**20))\n")
    assert big.outcome == "refused" and "file size limit 16 MB" in big.reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import os\nwhile True:\n    os.fork()\n", "refused: os.fork (no processes"),
        ("import subprocess\nsubprocess.run(['echo'])\n", "refused: subprocess.Popen"),
        ("import os\nos.system('true')\n", "refused: os.system"),
        ("import os, signal\nos.kill(1, signal.SIGTERM)\n", "refused: os.kill"),
        (
            "import socket\nsocket.socket().connect(('127.0.0.1', 9))\n",
            "refused: socket.__new__ (no network in the sandbox)",
        ),
        ("import urllib.request\nurllib.request.urlopen('http://example.com')\n", "socket."),
        ("import ctypes\nctypes.CDLL(None)\n", "refused: ctypes.dlopen"),
        ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (99, 99))\n", "setrlimit"),
    ],
)
def test_processes_network_ctypes_and_rlimits_are_refused(code: str, reason: str) -> None:
    result = run(code, ADD_TESTS)
    assert result.outcome == "refused"
    assert reason in result.reason


def test_writes_outside_the_scratch_directory_are_refused(tmp_path: Path) -> None:
    new, old = tmp_path / "new.txt", tmp_path / "old.txt"
    old.write_text("keep")
    mode = old.stat().st_mode
    result = run(f"open({str(new)!r}, 'w').write('x')\n")
    assert result.outcome == "refused"
    assert result.reason == f"refused: open({str(new)!r}, 'w') outside the scratch directory"
    assert not new.exists()
    for code in (
        f"open({str(old)!r}, 'a').write('x')\n",
        f"import os\nos.close(os.open({str(old)!r}, os.O_WRONLY | os.O_TRUNC))\n",
        f"import os\nos.symlink({str(old)!r}, 'link')\nopen('link', 'w').write('x')\n",
        f"import os\nos.chmod({str(old)!r}, 0o777)\n",
        f"import os\nos.rename({str(old)!r}, 'stolen')\n",
        f"import os, shutil\nshutil.copyfile(os.__file__, {str(old)!r})\n",
    ):
        result = run(code)
        assert result.outcome == "refused" and "outside the scratch directory" in result.reason
        assert old.read_text() == "keep"
    assert old.stat().st_mode == mode


def test_removals_outside_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "keep"
    folder.mkdir()
    sentinel = folder / "sentinel"
    sentinel.write_text("here")
    for code in (
        f"import os\nos.remove({str(sentinel)!r})\n",
        f"import os\nos.unlink({str(sentinel)!r})\n",
        f"import shutil\nshutil.rmtree({str(folder)!r})\n",
        f"import os\nfd = os.open({str(folder)!r}, 0)\nos.unlink('sentinel', dir_fd=fd)\n",
    ):
        result = run(code)
        assert result.outcome == "refused" and "outside the scratch directory" in result.reason
        assert sentinel.read_text() == "here"


def test_writing_and_removing_inside_the_scratch_directory_is_allowed() -> None:
    code = (
        "import os, shutil, tempfile\n"
        "open('notes.txt', 'w').write('hi')\n"
        "os.makedirs('sub/deeper')\n"
        "open('sub/deeper/x', 'w').write('x')\n"
        "fd, name = tempfile.mkstemp()\n"
        "os.close(fd)\n"
        "os.remove(name)\n"
        "shutil.rmtree('sub')\n"
        "os.chmod('notes.txt', 0o600)\n"
        "print('printing is fine', file=open(os.devnull, 'w'))\n"
        "text = open('notes.txt').read()\n"
        "source = open(os.__file__).read()\n"  # reading outside is allowed
    )
    result = run(code, "assert text == 'hi' and source\n")
    assert result.outcome == "passed", result.reason


def test_a_caught_refusal_is_still_refused() -> None:
    code = (
        "import os, socket\n"
        "for attempt in (os.fork, lambda: socket.socket()):\n"
        "    try:\n"
        "        attempt()\n"
        "    except Exception:\n"
        "        pass\n" + ADD
    )
    result = run(code, ADD_TESTS)
    assert result.outcome == "refused"
    assert result.reason == "refused: os.fork (no processes or signals in the sandbox)"
    forever = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except Exception:\n        pass\n"
    )
    looping = run(forever)  # refused at once, though it loops until the timeout
    assert looping.outcome == "refused" and "os.fork" in looping.reason


def test_a_pass_cannot_be_faked() -> None:
    forged = json.dumps({"nonce": "0" * 32, "outcome": "passed", "reason": "passed"})
    fake_everywhere = (
        "import os\n"
        f"line = ({forged!r} + '\\n').encode()\n"
        "print('passed')\n"
        "print(line.decode())\n"
        "for fd in range(1, 32):\n"
        "    try:\n"
        "        os.write(fd, line)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    for code in ("import os\nos._exit(0)\n", fake_everywhere + "os._exit(0)\n"):
        result = run(code, "assert False\n")
        assert not result.passed
        assert result.outcome == "error"
        assert result.reason == "exited with code 0 before the tests finished"
    result = run(fake_everywhere, "assert False\n")
    assert result.outcome == "failed"
    exits = run("import sys\nsys.exit(0)\n", ADD_TESTS)
    assert exits.outcome == "error" and exits.reason.startswith("SystemExit in the code")


def test_the_humaneval_form() -> None:
    tests = "METADATA = {}\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n"
    assert run(ADD, tests, entry_point="add").outcome == "passed"
    wrong = run("def add(a, b):\n    return 0\n", tests, entry_point="add")
    assert wrong.outcome == "failed" and "line 4 of the tests" in wrong.reason
    missing = run("def plus(a, b):\n    return a + b\n", tests, entry_point="add")
    assert missing.outcome == "failed"
    assert missing.reason == "the code defines no function add"


def test_many_runs_in_parallel_keep_order_and_leave_nothing(private_tmp: Path) -> None:
    loop, fork = "while True:\n    pass\n", "import os\nwhile True:\n    os.fork()\n"
    kinds = ["loop" if i % 20 == 0 else "fork" if i % 20 == 1 else "pass" for i in range(200)]
    jobs: list[tuple] = []
    for i, kind in enumerate(kinds):
        code = {"loop": loop, "fork": fork, "pass": f"def f():\n    return {i}\n"}[kind]
        if i % 2:
            jobs.append((code, f"assert f() == {i}\n"))
        else:  # the HumanEval form, mixed in
            jobs.append((code, f"def check(c):\n    assert c() == {i}\n", "f"))
    start = time.perf_counter()
    results = run_many(jobs, limits=Limits(timeout_s=2, memory_mb=512), workers=8, progress=False)
    assert time.perf_counter() - start < 60
    assert len(results) == 200
    expected = {"loop": "timeout", "fork": "refused", "pass": "passed"}
    assert [r.outcome for r in results] == [expected[k] for k in kinds]
    assert all("os.fork" in r.reason for r, k in zip(results, kinds, strict=True) if k == "fork")
    assert sandbox_processes(f"{private_tmp}{os.sep}{SCRATCH_PREFIX}") == []
    assert [p for p in os.listdir(tempfile.gettempdir()) if p.startswith(SCRATCH_PREFIX)] == []
