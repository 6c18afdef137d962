"""checks/windows.py (windows-dll, windows-long-paths, wsl-libcuda) and the shell-aware quoting of
checks/commands.py, from recorded facts: no Windows or WSL machine runs these tests."""

import pytest

from checkrun import commands, one, words
from doctor.checks.commands import CMD, POSIX, POWERSHELL, command_line, learner_shell, plan_install, quote
from doctor.fixes.pip_merge import merge_pip_commands
from factories import answer, make_facts, ok_outcome

WINDOWS_MARKERS = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows"}
SITE = "C:\\Users\\learner\\course\\.venv\\Lib\\site-packages"
# What torch/__init__.py _load_dll_libraries raises (ctypes.WinError, then its own words), as learners paste it.
FBGEMM = ('[WinError 126] The specified module could not be found. Error loading "C:\\Users\\learner\\course\\.venv'
          '\\Lib\\site-packages\\torch\\lib\\fbgemm.dll" or one of its dependencies.')
C10_GERMAN = ('[WinError 126] Das angegebene Modul wurde nicht gefunden. Error loading "D:\\envs\\dl\\Lib'
              '\\site-packages\\torch\\lib\\c10.dll" or one of its dependencies.')
WSL2 = "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP"
WSL_LIBCUDA = {"path": "/usr/lib/wsl/lib/libcuda.so.1", "resolves_to": "/usr/lib/wsl/lib/libcuda.so.1"}
LINUX_LIBCUDA = {"path": "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
                 "resolves_to": "/usr/lib/x86_64-linux-gnu/libcuda.so.560.35.03"}
LINK_TO_WSL = {"path": "/usr/lib/x86_64-linux-gnu/libcuda.so", "resolves_to": "/usr/lib/wsl/lib/libcuda.so.1"}


def windows(shell=None, powershell=False, site=SITE, **python):
    return dict(python, executable=site.split("\\Lib\\")[0] + "\\Scripts\\python.exe",
                marker_environment=WINDOWS_MARKERS, site_packages=[site],
                shell_environment={"shell": shell, "powershell_user_modules": powershell})


def torch_failing(message, error_type="OSError"):
    return {"torch": ok_outcome("torch", {"importable": False, "import_seconds": 0.4, "error": {
        "type": error_type, "message": message, "traceback": "", "files": []}})}


# --- windows-dll --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("message, dll, torch, libomp", [
    (FBGEMM, "fbgemm.dll", "2.14.1", False),
    (C10_GERMAN, "c10.dll", "2.14.1", False),
    (FBGEMM, "fbgemm.dll", "2.4.0+cpu", True),  # the release whose fbgemm.dll needed libomp140 (pytorch#131662)
    (C10_GERMAN, "c10.dll", "2.4.0", False),
])
def test_a_dll_that_does_not_load_names_the_dll_and_the_redistributable(message, dll, torch, libomp):
    facts = make_facts(python=windows(), outcomes=torch_failing(message), distributions={"torch": torch})
    finding = one("windows-dll", facts)
    assert finding.status == "error"
    assert finding.title.startswith("Windows cannot load %s, which import torch needs" % dll)
    assert commands(finding) == ("winget install --id Microsoft.VCRedist.2015+.x64 -e",)
    assert "https://aka.ms/vs/17/release/vc_redist.x64.exe" in finding.fix.text
    assert ("libomp140.x86_64.dll" in finding.fix.text) == libomp


@pytest.mark.parametrize("python, torch, status", [
    (windows(), None, "ok"),  # torch imports
    (windows(), torch_failing("No module named 'torch._C'", "ModuleNotFoundError"), "ok"),  # another failure
    ({}, torch_failing(FBGEMM), "skipped"),  # the same words on Linux are not Windows' loader
])
def test_no_dll_finding_without_a_windows_dll_failure(python, torch, status):
    facts = make_facts(python=python, outcomes=torch)
    assert one("windows-dll", facts).status == status


# --- windows-long-paths -------------------------------------------------------------------------------------

DEEP_SITE = ("C:\\Users\\firstname.lastname\\OneDrive - Contoso University\\Documents\\Courses"
             "\\Practical Deep Learning 2026\\notebooks\\.venv\\Lib\\site-packages")


@pytest.mark.parametrize("value, site, status", [
    (1, DEEP_SITE, "ok"),
    (0, DEEP_SITE, "warning"),
    (None, DEEP_SITE, "warning"),  # never set: Windows' default is off
    (0, SITE, "ok"),  # 47 + 1 + 137 characters fit in 260
])
def test_long_paths_warn_only_when_off_and_the_files_would_not_fit(value, site, status):
    finding = one("windows-long-paths", make_facts(python=windows(site=site, windows_long_paths=value)))
    assert finding.status == status
    if status == "warning":
        assert commands(finding) == ('New-ItemProperty -Path "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem" '
                                     '-Name "LongPathsEnabled" -Value 1 -PropertyType DWORD -Force',)
        assert "administrator" in finding.fix.text
        assert "Windows Long Path support enabled" in finding.detail


def test_long_paths_is_skipped_off_windows():
    assert one("windows-long-paths", make_facts()).status == "skipped"


# --- wsl-libcuda --------------------------------------------------------------------------------------------

def wsl(*files):
    return {"proc_version": WSL2, "libcuda_files": list(files)}


def test_a_linux_driver_inside_wsl_that_hides_the_gpu_is_an_error_naming_the_file():
    facts = make_facts(python=wsl(WSL_LIBCUDA, LINUX_LIBCUDA),
                       torch={"cuda": {"available": False, "device_count": 0, "devices": []}})
    finding = one("wsl-libcuda", facts)
    assert finding.status == "error"
    assert finding.title.endswith("shadows the Windows driver's libcuda: /usr/lib/x86_64-linux-gnu/libcuda.so.1")
    assert commands(finding) == ("dpkg -S /usr/lib/x86_64-linux-gnu/libcuda.so.1", "sudo ldconfig")
    assert "sees no GPU" in finding.detail
    assert "wsl --shutdown" in finding.fix.text


def test_a_linux_driver_inside_wsl_is_a_warning_while_torch_still_sees_the_gpu():
    assert one("wsl-libcuda", make_facts(python=wsl(WSL_LIBCUDA, LINUX_LIBCUDA))).status == "warning"


@pytest.mark.parametrize("python, status, said", [
    (wsl(WSL_LIBCUDA), "ok", "from the Windows driver"),
    (wsl(WSL_LIBCUDA, LINK_TO_WSL), "ok", "from the Windows driver"),  # a link into /usr/lib/wsl/lib is fine
    (wsl(), "warning", "no libcuda.so in /usr/lib/wsl/lib"),
    ({"libcuda_files": [LINUX_LIBCUDA]}, "skipped", "not WSL"),  # plain Linux: the driver belongs there
    ({"proc_version": None, "libcuda_files": []}, "skipped", "not WSL"),
])
def test_wsl_libcuda_layouts(python, status, said):
    finding = one("wsl-libcuda", make_facts(python=python))
    assert finding.status == status
    assert said in words(finding)


# --- shell-aware quoting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("python, shell", [
    ({}, POSIX),
    (windows(), CMD),
    (windows(powershell=True), POWERSHELL),
    (windows(shell="/usr/bin/bash", powershell=True), POSIX),  # Git Bash started from PowerShell
])
def test_the_learners_shell(python, shell):
    assert learner_shell(make_facts(python=python)) == shell


def test_facts_saved_before_the_shell_was_read_quote_for_cmd_on_windows():
    facts = make_facts(python=windows(powershell=True))
    del facts.data("python")["shell_environment"]
    assert learner_shell(facts) == CMD


@pytest.mark.parametrize("python, word, quoted", [
    ({}, "fastcore>=2.2.22", "'fastcore>=2.2.22'"),
    (windows(), "fastcore>=2.2.22", '"fastcore>=2.2.22"'),
    (windows(powershell=True), "fastcore>=2.2.22", "'fastcore>=2.2.22'"),
    (windows(powershell=True), "torch", "torch"),
    (windows(powershell=True), "it's", "'it''s'"),
    (windows(powershell=True), "$HOME", "'$HOME'"),
    (windows(shell="/usr/bin/bash"), "C:\\My Python\\python.exe", "'C:\\My Python\\python.exe'"),
])
def test_quote_for_each_shell(python, word, quoted):
    assert quote(make_facts(python=python), word) == quoted


def test_powershell_calls_a_quoted_program_with_the_call_operator():
    facts = make_facts(python=windows(powershell=True, site="C:\\My Course\\Lib\\site-packages"))
    assert command_line(facts, "C:\\My Course\\Scripts\\python.exe", "-m", "pip") == \
        "& 'C:\\My Course\\Scripts\\python.exe' -m pip"
    assert plan_install(facts, "fastcore>=2.2.22").command.startswith(
        "& 'C:\\My Course\\Scripts\\python.exe' -m pip install 'fastcore")
    cmd = make_facts(python=windows(site="C:\\My Course\\Lib\\site-packages"))
    assert command_line(cmd, "C:\\My Course\\Scripts\\python.exe", "-m", "pip") == \
        '"C:\\My Course\\Scripts\\python.exe" -m pip'


@pytest.mark.parametrize("python, merged", [
    (windows(powershell=True, site="C:\\My Course\\Lib\\site-packages"),
     "& 'C:\\My Course\\Scripts\\python.exe' -m pip install \"fastcore>=2.2.22\" fastai"),
    (windows(site="C:\\My Course\\Lib\\site-packages"),
     '"C:\\My Course\\Scripts\\python.exe" -m pip install "fastcore>=2.2.22" fastai'),
    (windows(shell="/usr/bin/bash", site="C:\\My Course\\Lib\\site-packages"),
     "'C:\\My Course\\Scripts\\python.exe' -m pip install \"fastcore>=2.2.22\" fastai"),
])
def test_commands_quoted_for_each_windows_shell_still_merge_into_one_that_runs_there(python, merged):
    facts = make_facts(python=python)
    sources = [("a", plan_install(facts, "fastcore>=2.2.22").command), ("b", plan_install(facts, "fastai").command)]
    (result,) = merge_pip_commands(sources, windows=True)
    assert result.command == merged
    assert result.install.words()[0] == "C:\\My Course\\Scripts\\python.exe"


def test_the_kernel_registration_command_runs_in_powershell():
    facts = make_facts(python=windows(powershell=True, site="C:\\My Course\\Lib\\site-packages"),
                       outcomes={"notebook": ok_outcome("notebook", answer("notebook", prefix="C:\\My Course"))})
    assert "& 'C:\\My Course\\Scripts\\python.exe' -m ipykernel install --user --name course --display-name " \
           "'Python (course)'" in commands(one("kernel-interpreter", facts))


@pytest.mark.parametrize("shell, powershell, command", [
    (None, True, "Remove-Item Env:TORCH_FORCE_WEIGHTS_ONLY_LOAD"),
    (None, False, "set TORCH_FORCE_WEIGHTS_ONLY_LOAD="),
    ("/usr/bin/bash", False, "unset TORCH_FORCE_WEIGHTS_ONLY_LOAD"),
], ids=["powershell", "cmd", "git-bash"])
def test_a_variable_is_unset_the_way_the_learners_shell_unsets_it(shell, powershell, command):
    python = windows(shell, powershell, environment_variables={"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"})
    finding = one("torch-weights-only-variable", make_facts(python=python))
    assert commands(finding) == (command,)
