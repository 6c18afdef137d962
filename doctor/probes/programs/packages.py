# Probe "packages": every installed distribution's metadata, read without importing any of them.
import ast
import json
import re

metadata, _METADATA_ERROR = _doctor_importlib_metadata()


def _normalize(name):
    # PEP 503 name normalization.
    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(dist, headers):
    if "requires-dist" in headers:
        return headers["requires-dist"]
    if dist.read_text("METADATA") is not None:
        # A .dist-info without Requires-Dist requires nothing (core metadata spec); asking importlib would
        # parse the whole file again with the email parser, for a third of the installed distributions.
        return []
    # Old egg-info installs list requirements in requires.txt; importlib.metadata converts them.
    return list(dist.requires or [])


def _editable(dist):
    # PEP 610: direct_url.json records editable installs ({"dir_info": {"editable": true}}).
    try:
        text = dist.read_text("direct_url.json")
        return bool(text) and bool(json.loads(text).get("dir_info", {}).get("editable"))
    except Exception:
        return False


def _top_level_names(dist):
    names = set()
    text = None
    try:
        text = dist.read_text("top_level.txt")
    except Exception:
        pass
    if text:
        names.update(line.strip() for line in text.splitlines() if line.strip())
    return sorted(names)


def _version_module(dist, relative):
    # torch/version.py and torchvision/version.py carry the local build tag (+cu130, +cpu) that
    # the distribution metadata may lack; literal assignments are read without importing.
    try:
        path = str(dist.locate_file(relative))
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except Exception:
        return None
    values = {}
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return values


def _source_mentions(dist, package_dir, needle):
    hits = []
    try:
        files = dist.files or []
    except Exception:
        return hits
    for entry in files:
        path = str(entry)
        if not path.startswith(package_dir + "/") or not path.endswith(".py"):
            continue
        try:
            with open(str(dist.locate_file(entry)), "rb") as handle:
                if needle in handle.read():
                    hits.append(path)
        except Exception:
            continue
    return hits


def _release_capabilities(dist):
    """torch's own table of which CUDA build has kernels for which compute capability, per host arch
    (PYTORCH_RELEASES_CODE_CC in torch/cuda/__init__.py of recent releases), read without importing torch.
    None when this torch has no such table; sets become sorted lists for JSON."""
    try:
        with open(str(dist.locate_file("torch/cuda/__init__.py")), "rb") as handle:
            tree = ast.parse(handle.read())
    except Exception:
        return None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        if value is None or not any(isinstance(t, ast.Name) and t.id == RELEASES_TABLE for t in targets):
            continue
        try:
            table = ast.literal_eval(value)
            return dict((str(cuda), dict((str(arch), sorted(int(cc) for cc in codes))
                                         for arch, codes in by_arch.items()))
                        for cuda, by_arch in table.items())
        except Exception:
            return None
    return None


RELEASES_TABLE = "PYTORCH_RELEASES_CODE_CC"
VERSION_MODULES = {"torch": "torch/version.py", "torchvision": "torchvision/version.py"}
# Pillow 10 removed Image.ANTIALIAS (Pillow 10.0.0 release notes); old course code still uses it.
ANTIALIAS_SCAN = {"fastai": "fastai", "fastbook": "fastbook"}


def collect(arguments):
    if metadata is None:
        raise _METADATA_ERROR
    distributions = []
    broken = []
    seen = set()
    version_modules = {}
    antialias_users = {}
    release_capabilities = None
    for dist in metadata.distributions():
        try:
            headers = _doctor_metadata_headers(dist) or {}
            name = (headers.get("name") or [None])[0]
            version = (headers.get("version") or [None])[0]
            requires = _requires(dist, headers)
        except Exception as exc:
            broken.append({"path": str(getattr(dist, "_path", "?")), "error": _doctor_error_text(exc)})
            continue
        if not name or not version:
            broken.append({"path": str(getattr(dist, "_path", "?")), "error": "metadata has no Name or Version"})
            continue
        key = _normalize(name)
        if key in seen:
            # An earlier sys.path entry wins, as it does for pip and for imports.
            continue
        seen.add(key)
        distributions.append({
            "name": name,
            "version": version,
            "requires": requires,
            "requires_python": (headers.get("requires-python") or [None])[0],
            "location": str(dist.locate_file("")),
            "editable": _editable(dist),
            "top_level": _top_level_names(dist),
        })
        if key in VERSION_MODULES:
            version_modules[key] = _version_module(dist, VERSION_MODULES[key])
        if key == "torch":
            release_capabilities = _release_capabilities(dist)
        if key in ANTIALIAS_SCAN:
            antialias_users[key] = _source_mentions(dist, ANTIALIAS_SCAN[key], b"Image.ANTIALIAS")
    return {
        "distributions": distributions,
        "broken": broken,
        "version_modules": version_modules,
        "antialias_users": antialias_users,
        "torch_release_capabilities": release_capabilities,
    }
