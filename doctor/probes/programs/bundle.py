# Runs several metadata probes in one child: on a small machine a Python start-up costs more than what
# these probes read. Each member runs in its own namespace (with the prelude's helpers) and its own
# try, so one member's exception is that member's failure alone. _DOCTOR_MEMBERS (name -> source) is
# written above this text by the engine. The members' module-level code runs here, as a program's own
# would, before the prelude puts the working folder back on sys.path.


def _doctor_load_member(name, source):
    namespace = dict(globals(), __name__="dl_doctor_probe_" + name)
    try:
        exec(compile(source, "<probe %s>" % name, "exec"), namespace)
    except Exception as exc:
        return exc
    return namespace


_DOCTOR_LOADED = {name: _doctor_load_member(name, source) for name, source in sorted(_DOCTOR_MEMBERS.items())}


def collect(arguments):
    answers = {}
    for name, loaded in sorted(_DOCTOR_LOADED.items()):
        try:
            if isinstance(loaded, Exception):
                raise loaded
            answers[name] = {"data": loaded["collect"](arguments.get(name) or {}), "error": None}
        except Exception as exc:
            answers[name] = {"data": None, "error": _doctor_error_text(exc),
                             "traceback": _doctor_error(exc)["traceback"]}
    return answers
