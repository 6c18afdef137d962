# Device selection shared by the torch and bench probes: which devices torch can use, and the one the
# lessons would use.


def device_available(torch, kind):
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend and backend.is_available())
    if kind == "xpu":
        module = getattr(torch, "xpu", None)
        return bool(module and module.is_available())
    return False


def auto_device(torch):
    # The order fastai's default_device() uses (cuda, then mps), with xpu after them.
    for kind in ("cuda", "mps", "xpu"):
        if device_available(torch, kind):
            return kind
    return "cpu"
