"""The benchmark fine-tune for real on this CPU: one short run (32 px, few steps) shared by the tests that
read its verdicts, the learner's own --data with unreadable images, and the inputs it must refuse."""

import json
import os
import signal
import subprocess
import sys

import pytest
from PIL import Image

from conftest import SHORT_BENCH, UNREACHABLE_BUDGET, private_tmp, run_cli, wait_for
from doctor.probes.programs.bench import training_budget
from doctor.render.progress import ProgressBar

pytestmark = pytest.mark.slow

# Real runs use a budget no load on this machine can use up (conftest.UNREACHABLE_BUDGET); the budget's judgement
# is tested below with fixed times and rates, which no machine's speed changes.


def bench_folders(folder):
    """The benchmark's own temporary folders (torch keeps a cache of its own there too)."""
    return [path for path in folder.iterdir() if path.name.startswith("dl-doctor-bench-")]


def test_short_run_learns_exports_and_predicts_the_same(short_bench):
    findings = short_bench["findings"]
    assert short_bench["completed"].returncode == 0, short_bench["completed"].stdout
    assert findings["bench-run"]["status"] == "ok"
    assert "from random weights (none in the local torch hub cache; nothing is downloaded)" in \
        findings["bench-run"]["title"]
    learning = findings["bench-learning"]
    assert learning["status"] == "ok" and "validation accuracy" in learning["title"]
    assert findings["bench-export"]["status"] == "ok"
    assert findings["bench-numerics"]["status"] == "ok"
    assert findings["bench-device-vs-cpu"]["status"] == "skipped"


def test_short_run_reports_the_speed_breakdown_and_a_verdict(short_bench):
    speed = short_bench["data"]["speed"]
    for figure in ("matmul_gflops", "raw_images_per_second", "data_images_per_second", "fit_images_per_second"):
        assert speed[figure] > 0
    verdict = short_bench["findings"]["bench-speed"]
    assert verdict["title"].split(":")[0] in ("compute-bound on cpu", "data-bound on cpu")
    assert "lesson 1's fine_tune(3)" in verdict["detail"] and "the raw step uses" in verdict["detail"]
    assert "num_workers=" in verdict["detail"]


def test_short_run_leaves_no_temporary_files(short_bench):
    assert bench_folders(short_bench["tmp"]) == []


def test_json_output_is_silent_on_stderr(short_bench):
    assert short_bench["completed"].stderr == ""


def write_images(folder, classes, per_class, broken=()):
    for name, colour in classes.items():
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            Image.new("RGB", (40, 40), colour).save(folder / name / ("%d.png" % index))
    for relative in broken:
        (folder / relative).write_bytes(b"not an image at all")


def test_learners_data_with_unreadable_images_names_and_skips_them(tmp_path):
    write_images(tmp_path / "pets", {"cats": (200, 60, 50), "dogs": (50, 60, 200)}, 10,
                 broken=("cats/broken.jpg", "dogs/empty.png"))
    completed = run_cli("bench", "--data", str(tmp_path / "pets"), "--size", "32", "--epochs", "1", "--batch", "8",
                        *UNREACHABLE_BUDGET, "--format", "json", cwd=str(tmp_path))
    findings = {f["id"]: f for f in json.loads(completed.stdout)["findings"]}
    assert findings["bench-data"]["status"] == "warning"
    assert "2 unreadable images skipped" in findings["bench-data"]["title"]
    assert str(tmp_path / "pets" / "cats" / "broken.jpg") in findings["bench-data"]["detail"]
    assert findings["bench-run"]["status"] == "ok"
    assert findings["bench-export"]["status"] == "ok"


@pytest.mark.parametrize("elapsed_s, images_per_second, fits", [
    (10.0, 64.0, True),    # 128 images at 64/s: 5 epochs of 2 s, half again, plus 5 s = 20 s; 50 s are left
    (45.0, 64.0, False),   # the same run after slow imports: 15 s left
    (45.0, 128.0, True),   # a machine twice as fast needs 12.5 s
    (10.0, 0.0, False),    # nothing measured: each epoch is assumed to take the whole budget
], ids=["fits", "imports-ate-the-budget", "faster-machine", "no-rate"])
def test_training_starts_only_when_the_estimate_fits_what_is_left(elapsed_s, images_per_second, fits):
    verdict = training_budget(60.0, elapsed_s, 128, images_per_second, 4)
    assert verdict["fits"] is fits
    assert verdict["budget_left_s"] == 60.0 - elapsed_s


def test_the_estimate_covers_every_epoch_with_room_to_spare():
    assert training_budget(60.0, 0.0, 128, 64.0, 4)["learning_estimate_s"] == 2.0 * 5 * 1.5 + 5.0


def one_line_error(completed, *words):
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    for word in words:
        assert word in lines[0]


def test_refused_inputs(tmp_path):
    one_line_error(run_cli("bench", "--data", str(tmp_path / "missing"), cwd=str(tmp_path)), "no such folder")
    (tmp_path / "empty").mkdir()
    one_line_error(run_cli("bench", "--data", str(tmp_path / "empty"), cwd=str(tmp_path)), "no class sub-folders")
    write_images(tmp_path / "single", {"cats": (1, 2, 3)}, 4)
    one_line_error(run_cli("bench", "--data", str(tmp_path / "single"), cwd=str(tmp_path)), "only one class (cats)")
    one_line_error(run_cli("bench", "--budget", "3", cwd=str(tmp_path)), "--budget 3 s is too small")
    one_line_error(run_cli("bench", "--size", "8", cwd=str(tmp_path)), "--size 8 is too small")
    one_line_error(run_cli("bench", "--device", "gpu", cwd=str(tmp_path)), "invalid choice: 'gpu'")


def test_only_unreadable_images_and_an_absent_device_exit_2(tmp_path):
    write_images(tmp_path / "broken", {"a": (0, 0, 0), "b": (9, 9, 9)}, 0,
                 broken=("a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"))
    one_line_error(run_cli("bench", "--data", str(tmp_path / "broken"), cwd=str(tmp_path)),
                   "only 0 readable images in 0 class(es) (4 unreadable)")
    one_line_error(run_cli("bench", "--device", "cuda", cwd=str(tmp_path)),
                   "--device cuda is not available here; available: cpu")


@pytest.mark.skipif(os.name != "posix", reason="signals as on Linux and macOS")
def test_ctrl_c_stops_and_deletes_the_temporary_images(tmp_path):
    env = private_tmp(tmp_path / "tmp")
    process = subprocess.Popen([sys.executable, "-m", "doctor", "bench", *SHORT_BENCH, "--format", "json"],
                               cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    images = tmp_path / "tmp"
    wait_for(lambda: any(folder.joinpath("images", "red").is_dir() for folder in bench_folders(images)), limit_s=600)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip() == "dl-doctor: interrupted"
    assert bench_folders(images) == []


class Terminal:
    def __init__(self, is_terminal):
        self.written, self.is_terminal = [], is_terminal

    def isatty(self):
        return self.is_terminal

    def write(self, text):
        self.written.append(text)

    def flush(self):
        pass


def test_progress_bar_draws_on_a_terminal_only():
    terminal, pipe = Terminal(True), Terminal(False)
    for stream in (terminal, pipe):
        bar = ProgressBar(stream, enabled=True)
        bar.update({"phase": "training", "done": 3, "total": 9})
        bar.close()
    assert "[########................] training 3/9" in "".join(terminal.written)
    assert terminal.written[-1] == "\r\033[K"
    assert pipe.written == []


def test_check_with_bench_adds_the_bench_verdicts_to_the_report(tmp_path):
    completed = run_cli("check", "--bench", *UNREACHABLE_BUDGET, "--format", "json", cwd=str(tmp_path))
    report = json.loads(completed.stdout)
    findings = {f["id"]: f for f in report["findings"]}
    assert findings["torch-import"]["status"] == "ok" and findings["lesson-imports"]["status"] == "ok"
    assert report["facts"]["probes"]["bench"]["status"] == "ok"
    assert findings["bench-run"]["status"] == "ok"
    assert {"bench-data", "bench-numerics", "bench-learning", "bench-export", "bench-speed"} <= set(findings)


def test_check_without_bench_says_how_to_run_it(real_check):
    bench_run = next(f for f in real_check["report"]["findings"] if f["id"] == "bench-run")
    assert bench_run["status"] == "skipped" and "dl-doctor check --bench" in bench_run["title"]


def test_bench_cannot_join_quick_or_saved_facts(tmp_path):
    one_line_error(run_cli("check", "--bench", "--quick", cwd=str(tmp_path)), "--bench runs the benchmark")


def test_check_takes_a_budget_only_for_the_benchmark_and_refuses_a_too_small_one(tmp_path):
    one_line_error(run_cli("check", "--budget", "600", cwd=str(tmp_path)), "it goes with --bench")
    one_line_error(run_cli("check", "--bench", "--budget", "3", cwd=str(tmp_path)), "--budget 3 s is too small")
