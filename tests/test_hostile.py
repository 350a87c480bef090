"""Hostile input and interruptions against `rmt run`, `rmt sweep`, `rmt verify` and
`rmt teaching` (issue 21, item 4): every failure is one line and exit 2 (bad input) or 1
(a run failed), never a traceback, a hang or a process left behind.

The signal tests start `rmt` in its own session with a marker in its environment, which
every process it starts inherits (pool workers, kernels, the resource tracker): "no
process left" means no process on the machine carries the marker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.errors import InsufficientMemoryError, SchedulerError

runner = CliRunner()
TINY = [
    "-p",
    "replicates=3",
    "-p",
    "n_mentors=24",
    "-p",
    "n_mentees=20",
    "-p",
    "n_models=20",
    "-p",
    "model_replicates=5",
]


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if anything tries to execute a notebook."""
    import papermill

    import toolkit.runs.kernel as kernel
    import toolkit.runs.run as run_module

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    monkeypatch.setattr(kernel, "execute_notebook", refuse)
    monkeypatch.setattr(run_module, "start_kernel", refuse)


def _one_error_line(text: str) -> str:
    lines = [
        ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("Executing")
    ]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    assert "Traceback" not in text
    return lines[0]


def _rmt(args: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """`rmt ARGS` in a fresh interpreter, killed (and the test failed) after ``timeout``."""
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


# --------------------------------------------------------------------------- parameter files


def _alias_bomb() -> str:
    """Nine levels of nine aliases: 9**9 (387 million) items once expanded."""
    lines = [
        "cadences:",
        "  - &a0 [weekly, weekly, weekly, weekly, weekly, weekly, weekly, weekly, weekly]",
    ]
    for k in range(1, 9):
        refs = ", ".join([f"*a{k - 1}"] * 9)
        lines.append(f"  - &a{k} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("binary.yaml", bytes(range(256)) * 4, ["is not a text file"]),
        ("nul.yaml", b"seed: 1\x00\n", ["is not a text file"]),
        ("deep.yaml", "seed: " + "[" * 20_000 + "]" * 20_000 + "\n", ["nested more than"]),
        ("bomb.yaml", _alias_bomb(), ["YAML alias"]),
        ("huge.yaml", "seed: 1\n" + "# padding\n" * 10_000, ["at most 65,536"]),
        (
            "long.yaml",
            "cadences: [" + ", ".join(["weekly"] * 3000) + "]\n",
            ["3,000 items", "at most 100"],
        ),
        ("text.yaml", "cadences: " + "w" * 5000 + "\n", ["5,000 characters", "at most 1,000"]),
        ("dup.yaml", "cadences: [weekly, biweekly, weekly]\n", ["'weekly' more than once"]),
    ],
)
def test_hostile_parameter_file_is_one_sentence(tmp_path, name, content, words):
    f = tmp_path / name
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    out = tmp_path / "out"
    start = time.monotonic()
    res = _rmt(["run", "meeting_cadence", "-f", str(f), "--out", str(out)], timeout=90)
    assert time.monotonic() - start < 60
    assert res.returncode == 2, res.stderr[-2000:]
    line = _one_error_line(res.stderr)
    assert len(line) < 400
    for w in words:
        assert w in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("binary.yaml", bytes(range(256)) * 4, "is not a text file"),
        ("deep.yaml", "seed: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than"),
        ("bomb.yaml", _alias_bomb(), "YAML alias"),
        ("dup.yaml", "cadences: [weekly, biweekly, weekly]\n", "'weekly' more than once"),
    ],
)
def test_study_parameters_from_a_hostile_file_are_one_sentence(tmp_path, name, content, words):
    """The study side (`Parameters.from_file`, the API and the notebook's path) reads a file
    with the same bounds as `rmt run -f`: no traceback, no RecursionError, no expansion."""
    from toolkit.errors import InvalidParameterError
    from toolkit.studies import get_study

    f = tmp_path / name
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    cls = get_study("meeting_cadence").parameters
    start = time.monotonic()
    with pytest.raises(InvalidParameterError) as info:
        cls.from_file(f)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert words in message and "\n" not in message and len(message) < 400


def test_long_values_lists_and_duplicates_refused_before_a_kernel(no_kernel, tmp_path):
    cases = [
        (["-p", "cadences=" + ",".join(["weekly", "biweekly"] * 80)], "lists 160 items"),
        (["-p", "cadences=weekly,biweekly,weekly"], "'weekly' more than once"),
        (["-p", "hours=" + "1" * 20_000], "characters long"),
    ]
    for args, words in cases:
        res = runner.invoke(app, ["run", "meeting_cadence", *args, "--out", str(tmp_path)])
        assert res.exit_code == 2, (args[1][:60], res.output[-500:])
        assert words in _one_error_line(res.stderr)
    # and through the API: a mapping of values
    from toolkit.errors import InvalidParameterError
    from toolkit.runs.plan import plan_run

    with pytest.raises(InvalidParameterError, match="more than once"):
        plan_run("meeting_cadence", {"cadences": ["weekly", "monthly", "monthly"]}, out=tmp_path)
    assert not any(tmp_path.iterdir())


def test_memory_is_estimated_before_a_study_starts(monkeypatch, no_kernel, tmp_path):
    import toolkit.runs.plan as plan
    import toolkit.runs.resources as resources

    monkeypatch.setattr(resources, "available_memory", lambda: 700 * 2**20)
    with pytest.raises(InsufficientMemoryError) as info:
        plan.plan_run("meeting_cadence", {"n_mentors": "5000", "n_mentees": "5000"}, out=tmp_path)
    msg = str(info.value)
    assert "5,000 mentees and 5,000 mentors" in msg
    assert "0.7 GB is available" in msg and "about" in msg and "lower n_mentees" in msg
    assert "\n" not in msg
    # the largest study the limits allow fits the memory this machine reports, or is refused
    need, n_e, n_r = plan.memory_estimate(
        plan.check_parameters("meeting_cadence", {"n_mentors": "5000", "n_mentees": "5000"}), {}
    )
    assert (n_e, n_r) == (5000, 5000) and need > 25_000_000 * 4
    # the CLI: one line, exit 2, nothing written
    res = runner.invoke(
        app,
        [
            "run",
            "meeting_cadence",
            "-p",
            "n_mentors=5000",
            "-p",
            "n_mentees=5000",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "of memory at its peak" in _one_error_line(res.stderr)
    assert not (tmp_path / "o").exists()


def test_small_study_passes_the_memory_check(tmp_path):
    import toolkit.runs.plan as plan

    need, _, _ = plan.memory_estimate(plan.check_parameters("meeting_cadence"), {})
    assert need < plan.available_memory()


# --------------------------------------------------------------------------- paths


def test_output_places_that_hold_no_run_are_one_sentence(no_kernel, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    long_name = tmp_path / ("n" * 300) / "out"
    cases = [
        (["run", "meeting_cadence", "--out", "/sys/kernel/rmt-test"], "/sys"),
        (["run", "meeting_cadence", "--out", "/proc/self/rmt-test"], "/proc"),
        (["run", "meeting_cadence", "--out", str(a_file / "deeper")], "which is a file"),
        (["run", "meeting_cadence", "--out", str(long_name)], "more than the file system"),
        (["sweep", "meeting_cadence", "--grid", "seed=1,2", "--out", "/sys/rmt-test"], "/sys"),
        (
            ["sweep", "meeting_cadence", "--grid", "seed=1,2", "--out", str(long_name)],
            "more than the file system",
        ),
        (
            ["run", "meeting_cadence", "-p", f"roster={tmp_path / ('r' * 300)}.csv"],
            "more than the file system allows",
        ),
        (["run", "meeting_cadence", "-p", f"roster={tmp_path}"], "must be a regular file"),
        (
            ["run", "meeting_cadence", "-f", str(tmp_path / ("f" * 300)) + ".yaml"],
            "more than the file system allows",
        ),
    ]
    for args, words in cases:
        if "--out" not in args:
            args = [*args, "--out", str(tmp_path / "o")]
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output[-800:], res.exception)
        assert words in _one_error_line(res.stderr), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_fifo_roster_is_refused_without_reading_it(no_kernel, tmp_path):
    fifo = tmp_path / "people.csv"
    os.mkfifo(fifo)
    res = _rmt(
        ["run", "meeting_cadence", "-p", f"roster={fifo}", "--out", str(tmp_path / "o")], timeout=60
    )
    assert res.returncode == 2
    assert "must be a regular file" in _one_error_line(res.stderr)


# --------------------------------------------------------------------------- Dask


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_dask_timeout_must_be_a_positive_finite_number(no_kernel, tmp_path, value):
    res = runner.invoke(
        app,
        [
            "sweep",
            "meeting_cadence",
            "--grid",
            "seed=1,2",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--timeout",
            value,
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "--timeout" in _one_error_line(res.stderr)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("content", "address"),
    [
        ("\x00\x01 not json at all", None),
        ('{"id": "Scheduler-1"}', None),
        ('["tcp://127.0.0.1:8786"]', None),
        (None, "tcp://::::"),
        (None, "tcp://127.0.0.1:99999"),
        (None, "tcp://host name:8786"),
    ],
)
def test_garbage_scheduler_file_and_malformed_address(no_kernel, tmp_path, content, address):
    if content is not None:
        f = tmp_path / "scheduler.json"
        f.write_text(content)
        address = str(f)
    start = time.monotonic()
    res = runner.invoke(
        app,
        [
            "sweep",
            "meeting_cadence",
            "--grid",
            "seed=1,2",
            "--scheduler",
            address,
            "--timeout",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.stderr)
    assert "scheduler" in line and ("address" in line or "scheduler file" in line)
    assert time.monotonic() - start < 30
    assert not (tmp_path / "o").exists()


def test_silent_listener_as_scheduler_is_refused_within_the_timeout():
    from toolkit.runs.executors import _connect

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does) and never answers
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    import distributed  # noqa: F401  (imported here: its import time is not the timeout's)

    outcome: dict[str, object] = {}

    def attempt() -> None:
        start = time.monotonic()
        try:
            _connect(address, 1.5)
        except SchedulerError as exc:
            outcome["error"] = str(exc)
        outcome["seconds"] = time.monotonic() - start

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(30)
    listener.close()
    assert not t.is_alive(), "the connection attempt ignored the timeout"
    assert "could not be reached within 1.5 s" in str(outcome.get("error"))
    assert outcome["seconds"] < 1.5 + 1.0


# --------------------------------------------------------------------------- verify


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(tiny_run.path, dest)
    return dest


def _edit_manifest(run: Path, **changes) -> None:
    m = json.loads((run / "manifest.json").read_text())
    for key, value in changes.items():
        if callable(value):
            value(m)
        else:
            m[key] = value
    (run / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("parameters", "seed=1"),
        ("parameters", [1, 2]),
        ("study", 7),
        ("outputs", ["x"]),
        ("inputs", {"notebook": "meeting_cadence.ipynb"}),
        ("packages", ["numpy"]),
    ],
)
def test_verify_refuses_a_manifest_with_wrong_types(run_copy, no_kernel, field, value):
    _edit_manifest(run_copy, **{field: value})
    res = runner.invoke(app, ["verify", str(run_copy)])
    assert res.exit_code == 2, (res.output, res.exception)
    line = _one_error_line(res.stderr)
    assert f"'{field}'" in line and "manifest" in line


def test_verify_fails_on_a_tampered_recorded_checksum(run_copy):
    def tamper(m):
        m["outputs"]["findings.json"] = "0" * 64

    _edit_manifest(run_copy, outputs=tamper)
    res = runner.invoke(app, ["verify", str(run_copy)])
    assert res.exit_code == 1, res.output
    assert "checksum: findings.json: its sha256 differs" in res.stderr
    assert "estimates.parquet: identical" in res.stdout  # the re-run itself agrees
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("error: 1 file(s) of the run differ from the checksums")
    assert "findings.json" in line


def test_verify_refuses_a_fifo_in_tables_without_hanging(run_copy, tmp_path):
    os.mkfifo(run_copy / "tables" / "zz_pipe.csv")
    res = _rmt(["verify", str(run_copy)], timeout=90)
    assert res.returncode == 2, res.stderr[-1000:]
    assert "not a regular file" in _one_error_line(res.stderr)


def test_failed_rerun_names_no_deleted_notebook(run_copy, monkeypatch):
    import toolkit.runs.run as run_module
    from toolkit.runs.kernel import CellError

    def fail(notebook, output, parameters, **kw):
        Path(output).write_text("{}")
        raise CellError("cell 4: ValueError: boom")

    monkeypatch.setattr(run_module, "execute_study", fail)
    res = runner.invoke(app, ["verify", str(run_copy)])
    assert res.exit_code == 1, (res.output, res.exception)
    line = _one_error_line(res.stderr)
    assert "cell 4: ValueError: boom" in line
    assert "notebook.ipynb" not in line and "rmt-verify-" not in line


# --------------------------------------------------------------------------- teaching


@pytest.mark.parametrize("command", ["build", "render"])
def test_teaching_into_unwritable_places_is_refused_before_executing(no_kernel, tmp_path, command):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out, words in [
        ("/proc/self/rmt-teaching", "/proc"),
        ("/sys/kernel/rmt-teaching", "/sys"),
        (str(a_file / "t"), "a file"),
        (str(tmp_path / ("t" * 300) / "x"), "more than the file system"),
    ]:
        res = runner.invoke(app, ["teaching", command, "--out", out])
        assert res.exit_code == 2, (out, res.output[-800:], res.exception)
        assert words in _one_error_line(res.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_teaching_render_writes_nothing_when_a_notebook_fails(monkeypatch, tmp_path):
    from nbclient.exceptions import CellExecutionError

    import toolkit.teaching.course as course

    calls = []

    def execute(path, *, timeout=300, nb=None):
        calls.append(path)
        if len(calls) == 2:
            raise CellExecutionError("trace", "ValueError", "boom")
        import nbformat

        return nbformat.v4.new_notebook()

    monkeypatch.setattr(course, "execute_notebook", execute)
    out = tmp_path / "pages"
    res = runner.invoke(app, ["teaching", "render", "--out", str(out)])
    assert res.exit_code == 1, (res.output, res.exception)
    assert "failed in" in _one_error_line(res.stderr)
    assert not out.exists() and not any(tmp_path.iterdir())


def test_teaching_build_is_all_or_nothing(monkeypatch, tmp_path):
    import toolkit.teaching.course as course

    real = course.student_version
    calls = []

    def flaky(nb):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(nb)

    monkeypatch.setattr(course, "student_version", flaky)
    out = tmp_path / "student"
    with pytest.raises(OSError):
        course.build_student_versions(out=out)
    assert not out.exists() and not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- signals


def _marked_processes(tag: str) -> list[int]:
    """Processes whose environment carries ``tag`` (every process `rmt` started)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if tag.encode() in (d / "environ").read_bytes():
                found.append(int(d.name))
        except OSError:
            continue
    return found


def _start(args: list[str], tag: str, cwd: Path, umask: int | None = None) -> subprocess.Popen:
    def before() -> None:
        if umask is not None:
            os.umask(umask)

    env = {**os.environ, tag: "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=before,
    )


def _wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _no_process_left(tag: str, timeout: float = 60.0) -> list[int]:
    """The marked processes still there after ``timeout`` seconds (generous: a loaded
    machine may take a while to reap them; a process left for good is still found)."""
    end = time.monotonic() + timeout
    left = _marked_processes(tag)
    while left and time.monotonic() < end:
        time.sleep(0.25)
        left = _marked_processes(tag)
    for pid in left:  # clean up after a failing test: only processes this test started
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def _busy_kernels(tag: str, cpu_seconds: float = 3.0) -> int:
    """Kernels of this test that have used ``cpu_seconds`` of CPU: past their start-up and
    running the study's cells (a state, not a guess of how long start-up takes)."""
    busy = 0
    for pid in _marked_processes(tag):
        try:
            if b"ipykernel" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, ValueError, IndexError):
            continue
        busy += ticks / os.sysconf("SC_CLK_TCK") >= cpu_seconds
    return busy


# A run that is signalled must still be running when the signal arrives: on a quiet
# machine a tiny run can finish before the test sees its kernel busy, so the runs the
# tests interrupt are long ones (they are stopped, so their length costs nothing).
LONG = ["-p", "replicates=2000", *TINY[2:]]


def _unfinished(out: Path) -> list[Path]:
    """Temporary folders of runs under way (hidden folders; ``.unfinished-*`` on this
    branch, whatever their name)."""
    return [p for p in out.rglob(".*") if p.is_dir()] if out.exists() else []


def test_ctrl_c_during_run_stops_the_kernel_cleanly(tmp_path):
    tag = f"RMT_TEST_{os.getpid()}_run"
    out = tmp_path / "out"
    proc = _start(["run", "meeting_cadence", *LONG, "--out", str(out)], tag, tmp_path)
    try:
        _wait_for(lambda: _busy_kernels(tag) == 1 and _unfinished(out), 300, "a busy kernel")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
        _, err = proc.communicate(timeout=180)
    finally:
        left = _no_process_left(tag)
    assert proc.returncode == 130, err[-2000:]
    assert "Ctrl-C" in _one_error_line(err)
    assert left == []
    assert _unfinished(out) == []
    assert not any((out / "meeting_cadence").iterdir())


def test_sigterm_during_sweep_keeps_finished_runs_with_the_umask(tmp_path):
    tag = f"RMT_TEST_{os.getpid()}_term"
    out = tmp_path / "out"
    proc = _start(
        [
            "sweep",
            "meeting_cadence",
            "--grid",
            "replicates=3,2000",  # a tiny first run that finishes, a long second one
            "--workers",
            "1",
            *TINY[2:],
            "--out",
            str(out),
        ],
        tag,
        tmp_path,
        umask=0o077,
    )
    try:
        _wait_for(lambda: list(out.rglob("manifest.json")), 400, "the first run to finish")
        _wait_for(
            lambda: _busy_kernels(tag) == 1 and _unfinished(out), 300, "the second run's kernel"
        )
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=180)
    finally:
        left = _no_process_left(tag)
    assert proc.returncode == 143, err[-2000:]
    assert "SIGTERM" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: stopped by SIGTERM")
    assert left == []
    assert _unfinished(out) == []
    runs = [p.parent for p in out.rglob("manifest.json")]
    assert len(runs) == 1
    for p in [out, *out.rglob("*")]:  # every folder and file follows the umask 077
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_two_worker_sweep_leaves_no_process(tmp_path, how):
    tag = f"RMT_TEST_{os.getpid()}_{how}"
    out = tmp_path / "out"
    proc = _start(
        [
            "sweep",
            "meeting_cadence",
            "--grid",
            "seed=1,2",
            "--workers",
            "2",
            *LONG,
            "--out",
            str(out),
        ],
        tag,
        tmp_path,
    )
    try:
        # both workers are running a run whose kernel is busy with its cells
        _wait_for(
            lambda: len(_unfinished(out)) == 2 and _busy_kernels(tag) == 2, 400, "two busy kernels"
        )
        if how == "SIGKILL":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGINT)
        # every holder of the pipes (workers, kernels) has ended, or this times out and fails
        _, err = proc.communicate(timeout=180)
    finally:
        left = _no_process_left(tag)
    assert left == [], f"{len(left)} processes left after {how}"
    if how == "SIGINT":
        assert proc.returncode == 130, err[-2000:]
        assert "Ctrl-C" in _one_error_line(err.split("to run\n", 1)[-1])
        assert _unfinished(out) == []
