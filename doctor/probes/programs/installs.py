# Probe "installs": the installed files against the records of what installed them. pip's RECORD (PEP 376 and
# the binary distribution spec: path, hash, size) for each distribution pip installed; conda's own records
# (conda-meta/*.json, the "files" list) in a conda prefix; and every OpenMP runtime library either of them put
# in the environment, with the package that put it there. Old-interpreter syntax on purpose (see prelude.py).
import base64
import csv
import glob
import hashlib
import json
import os
import re
import sys
import time

metadata, _METADATA_ERROR = _doctor_importlib_metadata()

# Verified by default: the distributions the lessons import. ``--deep`` asks for every distribution.
COURSE_STACK = (
    "torch", "torchvision", "fastai", "fastcore", "fasttransform", "fastprogress", "fastdownload", "plum-dispatch",
    "numpy", "pillow", "pandas", "matplotlib", "scikit-learn", "scipy", "ipywidgets", "jupyterlab-widgets",
    "widgetsnbextension", "ipykernel", "transformers", "tokenizers", "safetensors", "datasets", "accelerate",
    "spacy", "thinc", "blis",
)
# By default only Python sources are hashed (what a manual edit changes); every other file is checked by its size,
# which an interrupted copy changes. Hashing all of torch 2.14.1 (1.1 GB, 12,264 files) took 3.1 s with a warm
# page cache on a 2-core machine, its files' sizes 0.1 s. --deep hashes every file; --quick none (sizes only).
HASHED_BY_DEFAULT = (".py",)
# Verification stops after this long (the probe's deadline is 120 s) and names the distributions it did not reach.
TIME_ALLOWANCE_S = {False: 20.0, True: 100.0}
LISTED = 20
# OpenMP runtimes: Intel's (libiomp5, libiomp5md.dll on Windows), LLVM's (libomp) and GNU's (libgomp); a wheel
# repaired by auditwheel carries a hashed name (libgomp-a34b3233.so.1).
OPENMP_NAME = re.compile(r"^(libiomp5md|libiomp5|libomp|libgomp)\d*(?:[-.]|$)")
OPENMP_MENTION = re.compile(r"lib(?:iomp5|omp|gomp)", re.IGNORECASE)


def _normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _openmp_runtime(path):
    base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    match = OPENMP_NAME.match(base)
    if match is None or not (".so" in base or base.endswith(".dylib") or base.endswith(".dll")):
        return None
    return "libiomp5" if match.group(1).startswith("libiomp5") else match.group(1)


def _digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def _record_rows(text):
    for row in csv.reader(text.splitlines()):
        if row:
            yield (row + ["", ""])[:3]


def _verify(dist, text, hashing):
    """Files the RECORD lists that are missing, and those whose size or hash differs."""
    missing, changed = [], []
    hashed = sized = 0
    location = str(dist.locate_file(""))
    for path, digest, size in _record_rows(text):
        if not digest:
            continue  # RECORD itself and files written after install (.pyc, INSTALLER on some tools) have no hash
        full = os.path.join(location, path)
        try:
            actual = os.stat(full).st_size
        except OSError:
            missing.append(path)
            continue
        if size and size.isdigit() and int(size) != actual:
            changed.append(path)
            continue
        if hashing == "none" or (hashing == "python" and not path.endswith(HASHED_BY_DEFAULT)):
            sized += 1
            continue
        algorithm, _, expected = digest.partition("=")
        if algorithm not in hashlib.algorithms_available:
            continue
        try:
            if _digest(full, algorithm) != expected:
                changed.append(path)
        except OSError:
            missing.append(path)
            continue
        hashed += 1
    return missing, changed, hashed, sized


def _name_and_version(dist):
    fields = _doctor_metadata_headers(dist) or {}
    return (fields.get("name") or [None])[0], (fields.get("version") or [None])[0]


def _relative(path, prefix):
    """``path`` relative to the prefix with forward slashes, as conda-meta lists files; None when it has none (a
    folder on another Windows drive)."""
    try:
        return os.path.relpath(path, prefix).replace(os.sep, "/") if path else None
    except ValueError:
        return None


def _installer(dist):
    try:
        return (dist.read_text("INSTALLER") or "").strip() or None
    except Exception:
        return None


def _conda_records(prefix):
    """conda-meta/*.json in this prefix: one per conda package, each with the files it linked in."""
    records = []
    for path in sorted(glob.glob(os.path.join(prefix, "conda-meta", "*.json"))):
        try:
            with open(path, "rb") as handle:
                meta = json.loads(handle.read().decode("utf-8"))
        except Exception as exc:
            records.append({"name": os.path.basename(path), "version": None, "build": None, "channel": None,
                            "dist_infos": [], "files": [], "error": _doctor_error_text(exc)})
            continue
        files = [str(f) for f in meta.get("files") or []]
        dist_infos = sorted(set(f.rsplit("/", 1)[0] for f in files if re.search(r"\.(dist|egg)-info/", f)))
        records.append({
            "name": meta.get("name"), "version": meta.get("version"), "build": meta.get("build"),
            "channel": meta.get("channel") or meta.get("schannel"),
            "dist_infos": dist_infos,
            "files": [f for f in files if _openmp_runtime(f)],
            "error": None,
        })
    return records


def _conda_runtimes(records, prefix):
    """The OpenMP runtimes conda linked that are still on disk, each with its package. A record's "files" (its
    OpenMP libraries only) are dropped once read: the answer does not carry them."""
    found = []
    for record in records:
        for path in record.pop("files"):
            location = os.path.normpath(os.path.join(prefix, path))
            if os.path.exists(location):
                found.append({"runtime": _openmp_runtime(path), "path": location, "owner": record["name"],
                              "installer": "conda"})
    return found


def _pip_runtimes(dist, name, record_text):
    """The OpenMP runtimes a distribution's RECORD lists that are on disk."""
    found = []
    for path, _, _ in _record_rows(record_text) if OPENMP_MENTION.search(record_text) else ():
        runtime = _openmp_runtime(path)
        location = os.path.normpath(str(dist.locate_file(path))) if runtime else None
        if location and os.path.exists(location):
            found.append({"runtime": runtime, "path": location, "owner": name, "installer": "pip"})
    return found


def _read_record(dist):
    try:
        return dist.read_text("RECORD")
    except Exception:
        return None


def _problem(dist, name, version, installer, missing, changed):
    return {"name": name, "version": version, "installer": installer, "location": str(dist.locate_file("")),
            "missing": missing[:LISTED], "missing_count": len(missing),
            "changed": changed[:LISTED], "changed_count": len(changed)}


def collect(arguments):
    if metadata is None:
        raise _METADATA_ERROR
    deep = bool(arguments.get("deep"))
    hashing = "all" if deep else "none" if arguments.get("quick") else "python"
    started = time.time()
    prefix = sys.prefix
    conda = os.path.isdir(os.path.join(prefix, "conda-meta"))
    course = set(COURSE_STACK)
    verified, problems, unfinished, installed = [], [], [], []
    records = _conda_records(prefix) if conda else []
    # What conda linked is judged by conda's own records: conda rewrites the prefix inside some files it links.
    conda_folders = set(folder for record in records for folder in record["dist_infos"])
    openmp = _conda_runtimes(records, prefix)
    seen = set()
    for dist in metadata.distributions():
        try:
            name, version = _name_and_version(dist)
        except Exception:
            continue  # the packages probe reports unreadable metadata
        if not name or not version:
            continue
        installer = _installer(dist)
        relative = _relative(str(getattr(dist, "_path", "")), prefix)
        if conda:
            installed.append({"name": name, "version": version, "installer": installer, "path": relative})
        key = _normalize(name)
        if installer == "conda" or relative in conda_folders or key in seen:
            continue
        seen.add(key)
        text = _read_record(dist)
        if text is None:
            continue
        openmp += _pip_runtimes(dist, name, text)
        if not (deep or key in course):
            continue
        if time.time() - started > TIME_ALLOWANCE_S[deep]:
            unfinished.append(name)
            continue
        missing, changed, hashed, sized = _verify(dist, text, hashing)
        verified.append({"name": name, "version": version, "hashed": hashed, "sized": sized})
        if missing or changed:
            problems.append(_problem(dist, name, version, installer, missing, changed))
    return {
        "deep": deep,
        "hashing": hashing,
        "time_allowance_s": TIME_ALLOWANCE_S[deep],
        "verified": verified,
        "problems": problems,
        "unfinished": unfinished,
        "conda_prefix": prefix if conda else None,
        "conda_packages": records,
        "python_distributions": installed,
        "openmp": openmp,
    }
