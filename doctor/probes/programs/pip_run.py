# Runs pip inside the target interpreter exactly as `python -m pip` would. pip's own output goes to stderr (the
# prelude points fd 1 there), so the runner keeps its tail; the answer is pip's exit status.
import runpy


def collect(arguments):
    try:
        import pip  # noqa: F401
    except ImportError:
        return {"returncode": None, "pip_missing": True}
    sys.argv = ["pip"] + list(arguments["pip"])
    try:
        runpy.run_module("pip", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        return {"returncode": code if isinstance(code, int) else (0 if code is None else 1)}
    return {"returncode": 0}
