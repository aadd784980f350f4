"""Run model-written Python code with a task's hidden unit tests in a separate, limited
process::

    run_tests("def add(a, b):\\n    return a + b\\n", "assert add(1, 2) == 3\\n").passed  # True
    run_many([(code, tests), (code2, tests2, "add")], limits=Limits(timeout_s=5))

Each run: a fresh scratch directory (``howsure-sandbox-*``, removed afterwards) with
``solution.py``, ``tests.py`` and the :data:`HARNESS` script; a new interpreter in a new
session, with a four-variable environment, no site-packages and output to /dev/null. The
harness reads a random nonce from stdin before user code runs, lowers its rlimits, tries
to leave the network (new user and network namespaces), installs an audit hook, runs the
code then the tests in one namespace and reports a JSON line with the nonce on a pipe.

Guaranteed whatever the code does: the run ends by ``Limits.timeout_s`` (its process
group is SIGKILLed then, and after every run); CPU, memory, file size and open files are
capped by rlimits; the scratch directory is removed; a pass needs the nonce, so printing
"passed", ``os._exit(0)`` or breaking the harness is never a pass.

Guaranteed for ordinary (not adversarial) code, by the audit hook: no sockets, processes
or signals, no ``ctypes``, no changes outside the scratch directory (writes, removals,
renames, links, chmod, chown, utime, chdir; reading is allowed), no raising of rlimits.
A refusal raises ``SandboxRefusal`` (a ``RuntimeError``); the run is "refused" even if
the code catches it.

Not guaranteed: the hook lives in the interpreter that runs the code, so an adversarial
exploit of the harness in Python (walking frames to the nonce, patching what the hook
calls) could forge a result or get past it, and calls without an audit event
(``os.mkfifo``, SQLite's ``ATTACH``) go unseen. What holds then is the OS level: the
rlimits, the process-group kill, the network namespace where the kernel grants it
(``RLIMIT_NPROC`` = 0 does not bind root; for other users it also stops threads). The
code reads what the caller may read. For hostile code at scale add a container or VM.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Literal

from tqdm.auto import tqdm

__all__ = ["SCRATCH_PREFIX", "Limits", "Outcome", "RunResult", "run_many", "run_tests"]

Outcome = Literal["passed", "failed", "error", "timeout", "refused"]
OUTCOMES: tuple[str, ...] = ("passed", "failed", "error", "timeout", "refused")
SCRATCH_PREFIX = "howsure-sandbox-"
"""The prefix of every run's scratch directory (and so of its processes' command lines)."""

_MAX_RESULT_BYTES = 1 << 20
# -I would also ignore PYTHONHASHSEED (it implies -E); the environment is ours anyway, so
# on 3.11+ use -s -P (no user site, no script directory on sys.path) to keep hashing fixed.
_FLAGS = ("-s", "-P", "-S", "-B") if sys.version_info >= (3, 11) else ("-I", "-S", "-B")

HARNESS = r"""
import builtins, errno, json, os, resource, sys, traceback

class SandboxRefusal(RuntimeError):
    "What the sandbox refuses: network, processes, ctypes, changes outside its directory."

def main():
    out, cfg = int(sys.argv[1]), json.loads(sys.argv[2])
    nonce = sys.stdin.buffer.readline(256).decode("ascii", "replace").strip()
    write, dumps = os.write, json.dumps

    def report(outcome, reason):
        line = dumps({"nonce": nonce, "outcome": outcome, "reason": reason[:500]})
        try:
            write(out, ("\n" + line + "\n").encode("utf-8", "replace"))
        except OSError:
            pass

    try:
        report(*run(cfg, report))
    except BaseException as exc:  # a bug of the harness, or the code broke it
        report("error", f"sandbox harness failed: {type(exc).__name__}: {exc}")
    os._exit(0)

def run(cfg, report):
    root = os.path.realpath(os.getcwd())
    code_path, tests_path = os.path.join(root, "solution.py"), os.path.join(root, "tests.py")
    with open(code_path, "rb") as f, open(tests_path, "rb") as g:
        code_src, tests = f.read(), compile(g.read(), tests_path, "exec", dont_inherit=True)
    try:  # best effort: no network (the audit hook is the guarantee)
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
            libc.unshare(0x40000000)
        del libc
    except Exception:
        pass
    mb, R = 1024 * 1024, resource
    for which, soft, hard in (
        (R.RLIMIT_CORE, 0, 0), (R.RLIMIT_NPROC, 0, 0),
        (R.RLIMIT_NOFILE, cfg["open_files"], cfg["open_files"]),
        (R.RLIMIT_FSIZE, cfg["file_mb"] * mb, cfg["file_mb"] * mb),
        (R.RLIMIT_CPU, cfg["cpu_s"], cfg["cpu_s"] + 1),
        (R.RLIMIT_AS, cfg["memory_mb"] * mb, cfg["memory_mb"] * mb),
    ):
        old = R.getrlimit(which)[1]
        if old != R.RLIM_INFINITY:
            soft, hard = min(soft, old), min(hard, old)
        R.setrlimit(which, (soft, hard))

    refused, prefix, P = [], root + os.sep, os.path
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    realpath, isdir, fsdecode, readlink = P.realpath, P.isdir, os.fsdecode, os.readlink

    def refuse(text):
        if not refused:
            refused.append(text)
            report("refused", "refused: " + text)
        raise SandboxRefusal("refused: " + text)

    def where(path, dir_fd=None, follow=True):  # the absolute path an event acts on
        if isinstance(path, int):
            try:
                return readlink(f"/proc/self/fd/{path}")
            except OSError:
                return None
        try:
            path = fsdecode(path)
        except TypeError:
            return None
        if dir_fd not in (None, -1) and not path.startswith("/"):
            base = where(dir_fd)
            path = None if base is None else P.join(base, path)
        if path is None or follow:
            return path and realpath(path)
        path = P.abspath(path)
        return P.join(realpath(P.dirname(path)), P.basename(path))

    def inside(path):
        return path is not None and (path == root or path.startswith(prefix) or path == "/dev/null")

    T, F = True, False
    fs = {  # event: ((path index, dir_fd index, follow symlinks), ...)
        "os.chdir": ((0, None, T),), "os.chmod": ((0, 2, T),), "os.chown": ((0, 3, T),),
        "os.chflags": ((0, None, T),), "os.link": ((0, 2, T), (1, 3, F)),
        "os.mkdir": ((0, 2, F),), "os.remove": ((0, 1, F),), "os.rmdir": ((0, 1, F),),
        "os.rename": ((0, 2, F), (1, 3, F)), "os.symlink": ((1, 2, F),),
        "os.truncate": ((0, None, T),), "os.utime": ((0, 3, T),),
        "os.setxattr": ((0, None, T),), "os.removexattr": ((0, None, T),),
        "shutil.rmtree": ((0, 1, F),), "shutil.move": ((0, None, F), (1, None, F)),
        "shutil.copyfile": ((1, None, T),), "shutil.copytree": ((1, None, T),),
        "shutil.chown": ((0, None, T),),
    }
    why = dict.fromkeys(
        ("os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
         "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn", "signal.pthread_kill"),
        "no processes or signals in the sandbox")
    why.update(dict.fromkeys(
        ("resource.setrlimit", "resource.prlimit", "gc.get_objects", "gc.get_referrers",
         "gc.get_referents", "sys._current_frames", "fcntl.ioctl",
         "sqlite3.enable_load_extension"), "not allowed in the sandbox"))

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            if (flags or 0) & writing or (mode and any(c in mode for c in "wax+")):
                if not inside(where(path)):
                    what = f"open({path!r}, {mode!r})" if mode else f"os.open({path!r}, {flags:#o})"
                    refuse(f"{what} outside the scratch directory")
            elif mode is None and not inside(p := where(path)) and p and isdir(p):
                refuse(f"os.open({path!r}) of a directory outside the scratch directory")
        elif event in fs:
            for i, d, follow in fs[event]:
                if not inside(where(args[i], None if d is None else args[d], follow)):
                    refuse(f"{event}({args[i]!r}) outside the scratch directory")
        elif event in why:
            refuse(f"{event} ({why[event]})")
        elif event.startswith("socket."):
            refuse(f"{event} (no network in the sandbox)")
        elif event.startswith("ctypes."):
            refuse(f"{event} (no ctypes in the sandbox)")
        elif event == "sqlite3.connect" and args[0] not in (":memory:", b":memory:", "", b""):
            if fsdecode(args[0]).startswith("file:") or not inside(where(args[0])):
                refuse(f"sqlite3.connect({args[0]!r}) outside the scratch directory")

    def verdict(exc, phase):
        name = type(exc).__name__
        if refused:
            return "refused", "refused: " + refused[0]
        if isinstance(exc, MemoryError):
            return "refused", f"refused: memory limit {cfg['memory_mb']} MB (MemoryError)"
        if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
            return "refused", f"refused: file size limit {cfg['file_mb']} MB (File too large)"
        if isinstance(exc, SyntaxError) and phase == "code":
            return "error", f"{name} in the code: {exc.msg} (line {exc.lineno})"
        try:
            msg = " ".join(str(exc)[:300].split())
        except BaseException:
            msg = ""
        frames = [
            (f.lineno, f.line, "the tests" if f.filename == tests_path else "the code")
            for f in traceback.extract_tb(exc.__traceback__)
            if f.filename in (code_path, tests_path)
        ]
        if isinstance(exc, AssertionError):  # where the tests assert; no message: that line
            frames = [f for f in frames if f[2] == "the tests"] or frames
            msg = msg or (frames[-1][1] if frames else "")
        line, _, file = frames[-1] if frames else (None, None, None)
        if phase == "code":
            return "error", f"{name} in the code: {msg}" + (f" (line {line})" if line else "")
        text = f"{name}: {msg}" if msg else name
        return "failed", text + (f" (line {line} of {file})" if line else "")

    entry = cfg["entry_point"]
    ns = {"__name__": "solution", "__file__": code_path, "__builtins__": builtins}
    sys.addaudithook(hook)
    try:
        exec(compile(code_src, code_path, "exec", dont_inherit=True), ns)
    except BaseException as exc:
        return verdict(exc, "code")
    ns.update(__name__="__main__", __file__=tests_path)
    try:
        exec(tests, ns)
        if entry and not callable(ns.get(entry)):
            return "failed", f"the code defines no function {entry}"
        if entry:
            ns["check"](ns[entry])
    except BaseException as exc:
        return verdict(exc, "tests")
    return ("refused", "refused: " + refused[0]) if refused else ("passed", "passed")

if __name__ == "__main__":
    main()
"""
"""The harness script each run writes to its scratch directory and runs."""


def _check_positive(value: object, name: str, *, integer: bool, least: float) -> None:
    kind = "an int" if integer else "a number"
    ok = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok):
        raise TypeError(f"Limits.{name} must be {kind}, not {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < least or value <= 0:
        bound = f">= {least:g}" if least > 0 else "> 0"
        raise ValueError(f"Limits.{name}={value!r} is out of range; give {kind} {bound}")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use.

    Attributes
    ----------
    timeout_s : float
        Wall-clock seconds for the whole run (startup included); then the run's process
        group is killed and the outcome is "timeout".
    cpu_s : int
        CPU seconds (``RLIMIT_CPU``; SIGXCPU then, reported as "timeout").
    memory_mb : int
        Address space in MiB (``RLIMIT_AS``; a ``MemoryError`` is reported "refused"). At
        least 64: the interpreter needs some of it.
    file_mb : int
        Largest file the code may write, in MiB (``RLIMIT_FSIZE``).
    open_files : int
        Open file descriptors (``RLIMIT_NOFILE``), at least 8.
    """

    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    file_mb: int = 16
    open_files: int = 64

    def __post_init__(self) -> None:
        _check_positive(self.timeout_s, "timeout_s", integer=False, least=0.0)
        _check_positive(self.cpu_s, "cpu_s", integer=True, least=1)
        _check_positive(self.memory_mb, "memory_mb", integer=True, least=64)
        _check_positive(self.file_mb, "file_mb", integer=True, least=1)
        _check_positive(self.open_files, "open_files", integer=True, least=8)


@dataclass(frozen=True)
class RunResult:
    """One sandboxed run of code with its tests.

    Attributes
    ----------
    outcome : {"passed", "failed", "error", "timeout", "refused"}
        "passed": the tests ran without an exception; "failed": a test failed or raised;
        "error": the code did not load (a SyntaxError, an exception at its top level) or
        the run ended before reporting; "timeout": the wall-clock or CPU limit ended it;
        "refused": it reached for the network, processes, files outside its directory or
        more memory than allowed.
    reason : str
        Short and human: ``"passed"``, ``"AssertionError: ... (line 3 of the tests)"``,
        ``"timed out after 10 s"``, ``"refused: socket.__new__ (no network in the
        sandbox)"``, ``"SyntaxError in the code: ... (line 2)"``.
    seconds : float
        Wall-clock seconds of the run.
    """

    outcome: Outcome
    reason: str
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether the tests passed."""
        return self.outcome == "passed"

    def to_dict(self) -> dict:
        """The result as a JSON-able dict (``outcome``, ``reason``, ``seconds``)."""
        return {"outcome": self.outcome, "reason": self.reason, "seconds": self.seconds}


def _check_job(code: object, tests: object, entry_point: object, where: str) -> tuple:
    """``(code, tests, entry_point)`` checked: strs, tests that parse, a valid entry point."""
    for name, value in (("code", code), ("tests", tests)):
        if not isinstance(value, str):
            raise TypeError(f"{where}{name} must be a str of Python, not {type(value).__name__}")
    if not tests.strip():
        raise ValueError(f"{where}tests are empty; give the task's unit tests as Python source")
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError) as exc:
        at = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise ValueError(
            f"{where}the tests do not parse: {type(exc).__name__}: "
            f"{getattr(exc, 'msg', exc)}{at}; fix the task's tests (a SyntaxError in the "
            "tests is a broken task, not a wrong answer)"
        ) from exc
    if entry_point is not None:
        if not isinstance(entry_point, str) or not entry_point.isidentifier():
            raise ValueError(
                f"{where}entry_point={entry_point!r} is not a function name; give the name "
                "the tests' check(candidate) is called with, or None"
            )
        if "check" not in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}:
            raise ValueError(
                f"{where}entry_point={entry_point!r} is given but the tests define no "
                "check(candidate) function; add one or pass entry_point=None"
            )
    return code, tests, entry_point


def _check_limits(limits: object) -> Limits:
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits or None, not {type(limits).__name__}")
    return limits or Limits()


def run_tests(
    code: str, tests: str, *, entry_point: str | None = None, limits: Limits | None = None
) -> RunResult:
    """Run ``code`` and then ``tests`` (in the same namespace) in a sandboxed process.

    Parameters
    ----------
    code : str
        The answer's Python source (model-written; never run in this process). It runs
        with ``__name__ == "solution"``, so its ``if __name__ == "__main__":`` block does not.
    tests : str
        The task's tests: Python source that raises (an ``AssertionError``) when the code
        is wrong. It runs with ``__name__ == "__main__"`` and sees the code's names.
    entry_point : str, optional
        HumanEval form: the tests define ``check(candidate)``; the harness then calls
        ``check(<the code's function entry_point>)``.
    limits : Limits, optional
        Time, memory and file limits (default :class:`Limits`).

    Returns
    -------
    RunResult
        The outcome, a short reason and the run's seconds.

    Raises
    ------
    TypeError
        ``code`` or ``tests`` not a str, ``limits`` not a :class:`Limits`.
    ValueError
        Empty tests, tests that do not parse (a broken task), a bad ``entry_point`` or
        one given without a ``check`` function in the tests.
    """
    job = _check_job(code, tests, entry_point, "")
    return _run(*job, _check_limits(limits))


def run_many(
    jobs: Sequence[tuple[str, str] | tuple[str, str, str | None]],
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "running tests",
) -> list[RunResult]:
    """Run many ``(code, tests)`` or ``(code, tests, entry_point)`` jobs in parallel.

    Parameters
    ----------
    jobs : sequence of tuple, length n_jobs
        As for :func:`run_tests`; all are checked before any runs.
    limits : Limits, optional
        The limits of every run (default :class:`Limits`).
    workers : int, optional
        Runs at a time (threads, each driving one process); default ``os.cpu_count()``.
    progress : bool
        Show a tqdm progress bar, labelled ``desc``.
    desc : str
        The progress bar's label.

    Returns
    -------
    list of RunResult, length n_jobs
        In the order of ``jobs``.

    Raises
    ------
    TypeError, ValueError
        As :func:`run_tests`, naming the job (``jobs[3]: ...``); a job not a 2- or
        3-tuple; ``workers`` not a positive int.
    """
    if isinstance(jobs, (str, bytes)) or not isinstance(jobs, Sequence):
        raise TypeError(f"jobs must be a sequence of (code, tests) tuples, not {type(jobs)}")
    checked = []
    for i, job in enumerate(jobs):
        if not isinstance(job, (tuple, list)) or len(job) not in (2, 3):
            raise TypeError(
                f"jobs[{i}] must be a (code, tests) or (code, tests, entry_point) tuple, "
                f"not {type(job).__name__}"
            )
        checked.append(_check_job(*job, *((None,) if len(job) == 2 else ()), f"jobs[{i}]: "))
    limits = _check_limits(limits)
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} is not a positive int; give one, or None")
    results: list[RunResult | None] = [None] * len(checked)
    with (
        ThreadPoolExecutor(max_workers=min(workers, max(1, len(checked)))) as pool,
        tqdm(total=len(checked), desc=desc, disable=not progress) as bar,
    ):
        futures = {pool.submit(_run, *job, limits): i for i, job in enumerate(checked)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results  # type: ignore[return-value]


def _run(code: str, tests: str, entry_point: str | None, limits: Limits) -> RunResult:
    """One run: scratch directory, process, wait, kill the group, read, clean up."""
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    read_fd = write_fd = -1
    proc = None
    try:
        for name, text in (("solution.py", code), ("tests.py", tests), ("harness.py", HARNESS)):
            with open(os.path.join(scratch, name), "w", encoding="utf-8", errors="replace") as f:
                f.write(text)
        read_fd, write_fd = os.pipe()
        config = json.dumps({**asdict(limits), "entry_point": entry_point})
        nonce = secrets.token_hex(16)
        env = {"HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *_FLAGS, os.path.join(scratch, "harness.py"), str(write_fd), config],
            cwd=scratch,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(write_fd,),
            close_fds=True,
        )
        os.close(write_fd)
        write_fd = -1
        with contextlib.suppress(OSError):  # when it died already, the verdict says how
            proc.stdin.write(nonce.encode("ascii") + b"\n")
            proc.stdin.close()
        finished = _wait_unreaped(proc, limits.timeout_s)
        _kill_group(proc)
        proc.wait()
        seconds = round(time.perf_counter() - start, 3)
        outcome, reason = _verdict(_read(read_fd), nonce, proc.returncode, finished, limits)
        return RunResult(outcome=outcome, reason=reason, seconds=seconds)
    finally:
        if proc is not None and proc.returncode is None:
            _kill_group(proc)
            proc.wait()
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        _remove(scratch)


def _wait_unreaped(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``proc`` to exit, without reaping it (so its pid
    and process group stay its own until killed); whether it exited."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel): reap, a tiny pid-reuse race
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(1, math.ceil(timeout * 1000))))
    finally:
        os.close(pidfd)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run's process group (its session) and, unless reaped, the process."""
    kills = (os.killpg, os.kill) if proc.returncode is None else (os.killpg,)
    for kill in kills:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(proc.pid, signal.SIGKILL)


def _read(fd: int) -> bytes:
    """What the (dead) run wrote to its result pipe, at most 1 MiB."""
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while len(data) < _MAX_RESULT_BYTES and (chunk := os.read(fd, 65536)):
            data += chunk
    return data


def _verdict(
    data: bytes, nonce: str, returncode: int, finished: bool, limits: Limits
) -> tuple[str, str]:
    """The outcome and reason: the first refusal line with the nonce, else the last line
    with it, else what the exit status and the timeout say."""
    found = []
    for raw in data.splitlines():
        with contextlib.suppress(ValueError, TypeError, KeyError):  # not JSON, not ours
            item = json.loads(raw)
            if item["nonce"] == nonce and item["outcome"] in OUTCOMES:
                found.append((item["outcome"], str(item["reason"])[:500]))
    refusals = [f for f in found if f[0] == "refused"]
    if refusals or found:
        return (refusals or found)[0 if refusals else -1]
    if not finished:
        return "timeout", f"timed out after {limits.timeout_s:g} s"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGXCPU":
            return "timeout", f"CPU time limit {limits.cpu_s} s exceeded (SIGXCPU)"
        return "error", f"killed by {name}"
    return "error", f"exited with code {returncode} before the tests finished"


def _remove(scratch: str) -> None:
    """Remove a run's scratch directory, also subdirectories the code made unreadable."""
    for root, dirs, _ in os.walk(scratch):
        for path in (os.path.join(root, d) for d in dirs):
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o700)
    shutil.rmtree(scratch, ignore_errors=True)
