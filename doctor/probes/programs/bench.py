# Probe "bench" (devices.py is prepended): lesson 1's path end to end on one device — images on disk,
# fastai DataLoaders with Resize and aug_transforms, vision_learner(resnet18), fine_tune, export,
# load_learner, predict — plus the numbers that say whether it ran right and fast. It measures; the
# engine's checks judge. The engine owns the data folder (a private temporary one) and deletes it.
import copy
import os
import random
import sys
import time
import warnings

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# torchvision's file name for resnet18's ImageNet weights in the torch hub cache (IMAGENET1K_V1).
RESNET18_WEIGHTS = "resnet18-f37072fd.pth"
SYNTHETIC_CLASSES = {"red": (200, 50, 45), "blue": (45, 60, 200)}
# Relative errors of float32 on the device against float64 on the CPU: the logits, and all gradients
# together (batch-norm backward over a small batch loses a few more digits). Wrong kernels give O(1).
LOGITS_TOLERANCE = 1e-3
GRADIENT_TOLERANCE = 1e-2
# Lesson 1 ("Is it a bird?"): about 350 searched images, Resize(192), fine_tune(3), i.e. 4 epochs.
LESSON_1 = {"images": 350, "valid_pct": 0.2, "size": 192, "epochs": 4}


def _phase(name, done=None, total=None):
    _doctor_progress({"kind": "phase", "phase": name, "done": done, "total": total})


def _synchronize(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()
    elif device == "xpu":
        torch.xpu.synchronize()


def _write_synthetic(folder, per_class, size, seed):
    """Two classes told apart by colour under noise and lighting changes: learnable in a few epochs
    by a correct environment, not by one whose kernels or data pipeline are broken."""
    import numpy
    from PIL import Image
    generator = numpy.random.default_rng(seed)
    for name, colour in SYNTHETIC_CLASSES.items():
        target = os.path.join(folder, name)
        os.makedirs(target)
        for index in range(per_class):
            tint = numpy.array(colour, dtype=numpy.float32) + generator.normal(0, 20, 3)
            pixels = tint + generator.normal(0, 30, (size, size, 3))
            image = Image.fromarray(numpy.clip(pixels, 0, 255).astype(numpy.uint8))
            image.save(os.path.join(target, "%s_%03d.jpg" % (name, index)), quality=90)


def _image_files(folder):
    found = []
    for label in sorted(os.listdir(folder)):
        directory = os.path.join(folder, label)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(os.path.join(directory, name))
    return found


def _readable(files):
    from PIL import Image
    good, bad = [], []
    for path in files:
        try:
            with Image.open(path) as image:
                image.convert("RGB").load()
            good.append(path)
        except Exception as exc:
            bad.append({"path": path, "error": "%s: %s" % (type(exc).__name__, str(exc)[:120])})
    return good, bad


def _numerics(torch, torchvision, device, size, batch):
    """The same resnet18 and batch, forward and backward: float32 on the device against float64 on the CPU."""
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(num_classes=2).double()
    on_device = copy.deepcopy(reference).float().to(device)
    inputs = torch.randn(batch, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(batch) % 2
    expected = reference(inputs)
    torch.nn.functional.cross_entropy(expected, labels).backward()
    got = on_device(inputs.float().to(device))
    torch.nn.functional.cross_entropy(got, labels.to(device)).backward()
    expected = expected.detach()
    logits_error = (got.detach().cpu().double() - expected).abs().max() / expected.abs().max()
    mine = torch.cat([p.grad.cpu().double().flatten() for p in on_device.parameters()])
    theirs = torch.cat([p.grad.flatten() for p in reference.parameters()])
    gradient_error = ((mine - theirs).norm() / theirs.norm()).item()
    return {"logits_error": logits_error.item(), "gradient_error": gradient_error,
            "logits_tolerance": LOGITS_TOLERANCE, "gradient_tolerance": GRADIENT_TOLERANCE, "batch": batch,
            "size": size}


def _matmul_gflops(torch, device):
    n = 2048 if device == "cpu" else 8192
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.matmul(a, b)
    _synchronize(torch, device)
    runs, started = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - started < 0.5:
        torch.matmul(a, b)
        runs += 1
        if runs % 5 == 0:
            _synchronize(torch, device)
    _synchronize(torch, device)
    return 2.0 * n ** 3 * runs / (time.perf_counter() - started) / 1e9


def _forward_flops(torch, model, size):
    """Multiply-adds x 2 of the model's convolutions and linear layers for one image at this size."""
    model = copy.deepcopy(model).cpu().float().eval()
    total = [0]

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kernel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2 * output.numel() * kernel
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2 * module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return total[0]


def _raw_train_images_per_second(torch, model, device, size, batch, seconds):
    """The floor the fastai loop is compared with: plain PyTorch steps of the same model on one batch already
    on the device."""
    model = copy.deepcopy(model).float().to(device).train()
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    # Adam, as fastai's default opt_func: the optimiser's step is part of what a training step costs.
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs = torch.randn(batch, 3, size, size, device=device)
    labels = (torch.arange(batch) % 2).to(device)

    def step():
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimiser.step()

    step()
    _synchronize(torch, device)
    steps, started = 0, time.perf_counter()
    while steps < 2 or time.perf_counter() - started < seconds:
        step()
        steps += 1
    _synchronize(torch, device)
    return batch * steps / (time.perf_counter() - started)


def _data_images_per_second(torch, dls, device, seconds):
    """The data pipeline alone: decoding, Resize, and aug_transforms on the device, no model."""
    seen, started = 0, time.perf_counter()
    while True:
        for _, yb in dls.train:
            seen += len(yb)
            if time.perf_counter() - started >= seconds:
                break
        if time.perf_counter() - started >= seconds:
            break
    _synchronize(torch, device)
    return seen / (time.perf_counter() - started)


def _timing_callback(fastai_callback, total_epochs):
    class TrainingTime(fastai_callback):
        """Images and seconds spent in the training phase of every epoch, and each epoch's mean loss."""
        order = 100

        def before_train(self):
            self.started, self.batch_losses, self.batch_images = time.perf_counter(), [], 0

        def after_batch(self):
            if self.training:
                self.batch_losses.append(float(self.loss))
                self.batch_images += len(self.yb[0])

        def after_train(self):
            self.epochs.append((self.batch_images, time.perf_counter() - self.started))
            if self.batch_losses:
                self.epoch_losses.append(sum(self.batch_losses) / len(self.batch_losses))
            _phase("training", len(self.epoch_losses), total_epochs)

    timing = TrainingTime()
    timing.epochs, timing.epoch_losses = [], []
    return timing


def _resnet18_weights_cached(torch):
    path = os.path.join(torch.hub.get_dir(), "checkpoints", RESNET18_WEIGHTS)
    return path if os.path.isfile(path) else None


def training_budget(budget_s, elapsed_s, train_images, images_per_second, epochs):
    """Whether fine_tune(epochs) fits in what is left of the learner's budget, judged before training starts
    so that a slow machine stops with a verdict instead of running past the budget. The estimate takes the
    slowest rate measured, every epoch (the frozen one too), half again for validation and fastai's own work,
    plus 5 s; with no rate measured, each epoch is assumed to need the whole budget."""
    per_epoch = train_images / images_per_second if images_per_second > 0 else float(budget_s)
    needed = per_epoch * (epochs + 1) * 1.5 + 5.0
    left = budget_s - elapsed_s
    return {"learning_estimate_s": needed, "budget_left_s": left, "fits": needed <= left}


def collect(arguments):
    started = time.time()
    per_class = int(arguments["per_class"])
    folder = arguments["folder"]
    size, batch, epochs = int(arguments["size"]), int(arguments["batch"]), int(arguments["epochs"])
    budget = float(arguments["budget_s"])
    _phase("importing fastai")
    try:
        import torch
        import torchvision
        from fastai.vision.all import (Callback, CategoryBlock, DataBlock, ImageBlock, RandomSplitter, Resize,
                                       accuracy, aug_transforms, load_learner, parent_label, vision_learner)
    except BaseException as exc:
        return {"stage": "import", "error": _doctor_error(exc)}
    warnings.simplefilter("ignore")
    requested = arguments.get("device") or "auto"
    device = auto_device(torch) if requested == "auto" else requested
    result = {"stage": "started", "device": device, "available": device_available(torch, device),
              "available_devices": [kind for kind in ("cpu", "cuda", "mps", "xpu") if device_available(torch, kind)],
              "torch": torch.__version__, "platform": sys.platform, "cpu_count": os.cpu_count(),
              "import_seconds": time.time() - started, "size": size, "batch": batch, "epochs": epochs,
              "budget_s": budget, "phases": {}}
    if not result["available"]:
        return result

    def phase(name):
        result["phases"][name] = time.time() - started

    _phase("writing images")
    data_path = arguments.get("data")
    if data_path is None:
        data_path = os.path.join(folder, "images")
        # Written at the training size: decoding and resizing stay a small part of each step, as they are
        # for a learner whose images were resized once (lesson 1 does that after downloading).
        _write_synthetic(data_path, per_class, size, 0)
    good, bad = _readable(_image_files(data_path))
    classes = sorted(set(os.path.basename(os.path.dirname(path)) for path in good))
    result["data"] = {"path": data_path, "synthetic": arguments.get("data") is None, "images": len(good),
                      "classes": classes, "bad_files": bad}
    phase("data")
    if len(classes) < 2 or len(good) < 4:
        result["stage"] = "data"
        return result

    _phase("numerics")
    result["numerics"] = _numerics(torch, torchvision, device, size, min(batch, 8))
    phase("numerics")

    weights = _resnet18_weights_cached(torch)
    result["weights"] = "imagenet" if weights else "random"
    result["weights_path"] = weights
    # Seeded like the data, so one environment gives one verdict: the head's initialisation and the
    # DataLoader's shuffling (fastai draws it from Python's random) are the rest of the run's randomness.
    random.seed(0)
    torch.manual_seed(0)
    block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=lambda _: good,
                      splitter=RandomSplitter(valid_pct=0.2, seed=42), get_y=parent_label,
                      item_tfms=Resize(size), batch_tfms=aug_transforms(size=size))
    # num_workers=0: measured here, worker processes only competed with training for the cores; the advice for
    # a learner's own runs is in the bench-speed finding.
    # fastai drops the last incomplete training batch: a batch larger than the training set would leave none.
    batch = max(1, min(batch, len(good) - int(0.2 * len(good))))
    result["batch"] = batch
    dls = block.dataloaders(data_path, bs=batch, num_workers=0, device=torch.device(device))
    # ImageNet weights only from the local cache, never downloaded: pretrained=True only when it is there.
    learn = vision_learner(dls, torchvision.models.resnet18, pretrained=bool(weights), metrics=accuracy,
                           n_out=len(classes))

    _phase("speed")
    result["speed"] = {"matmul_gflops": _matmul_gflops(torch, device),
                       "forward_flops_per_image": _forward_flops(torch, learn.model, size),
                       "raw_images_per_second": _raw_train_images_per_second(torch, learn.model, device, size,
                                                                              batch, 3.0),
                       "data_images_per_second": _data_images_per_second(torch, dls, device, 1.0)}
    if device != "cpu":
        result["speed"]["cpu_raw_images_per_second"] = _raw_train_images_per_second(
            torch, learn.model, "cpu", size, batch, 1.5)
        result["speed"]["cpu_matmul_gflops"] = _matmul_gflops(torch, "cpu")
    phase("speed")

    train_images = len(dls.train_ds)
    slowest = min(result["speed"]["raw_images_per_second"], result["speed"]["data_images_per_second"])
    budget_verdict = training_budget(budget, time.time() - started, train_images, slowest, epochs)
    result["learning_estimate_s"] = budget_verdict["learning_estimate_s"]
    if not budget_verdict["fits"]:
        result["stage"] = "budget"
        result["budget_left_s"] = budget_verdict["budget_left_s"]
        return result

    _phase("training", 0, epochs + 1)
    timing = _timing_callback(Callback, epochs + 1)
    with learn.no_bar(), learn.no_logging():
        learn.fine_tune(epochs, base_lr=3e-3, cbs=[timing])
    # The unfrozen epochs train the whole model, as the raw loop does; the frozen first one is cheaper.
    unfrozen = timing.epochs[-epochs:]
    seconds = sum(spent for _, spent in unfrozen)
    result["speed"]["fit_images_per_second"] = sum(images for images, _ in unfrozen) / seconds if seconds else None
    result["learning"] = {"epoch_train_losses": timing.epoch_losses, "valid_images": len(dls.valid_ds),
                          "accuracy": float(learn.recorder.values[-1][2]), "train_images": train_images}
    phase("training")

    _phase("export")
    exported = os.path.join(folder, "export.pkl")
    learn.export(exported)
    loaded = load_learner(exported)
    items = [dls.valid_ds.items[i] for i in range(min(4, len(dls.valid_ds)))]
    differences, agree = [], True
    for item in items:
        mine = learn.predict(item)
        theirs = loaded.predict(item)
        agree = agree and str(mine[0]) == str(theirs[0])
        differences.append((mine[2] - theirs[2]).abs().max().item())
    result["export"] = {"items": len(items), "agree": agree, "max_probability_difference": max(differences or [0.0]),
                        "bytes": os.path.getsize(exported)}
    phase("export")
    result["stage"] = "done"
    return result
