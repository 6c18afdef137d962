# The op catalogue: the ops the course's lessons exercise, each with small sample inputs and the call
# that runs it. The probe "ops" runs this text in the target interpreter; the engine also imports it
# (torch is only ever a parameter here, never imported) to know the op names and their lessons.
#
# inputs(torch, generator) builds CPU tensors: floats in float64 (the reference precision; the device run
# casts them to the op's dtype), integers as they are. call(torch, *tensors) runs the op; it returns a
# tensor or a tuple of tensors. An op with validate= has no deterministic reference (random ops): the
# function checks the device's output and returns None, or a sentence saying what is wrong.


class Op(object):
    def __init__(self, name, lessons, why, inputs, call, backward=False, dtype="float32", validate=None,
                 tolerance=None, keep_float64=False):
        self.name = name
        self.lessons = tuple(lessons)
        self.why = why
        self.inputs = inputs
        self.call = call
        self.backward = backward
        self.dtype = dtype
        self.validate = validate
        self.tolerance = tolerance
        self.keep_float64 = keep_float64


def _randn(torch, generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def _images(torch, generator):
    return _randn(torch, generator, 2, 3, 8, 8)


def _well_conditioned(torch, generator, size):
    matrix = _randn(torch, generator, size, size)
    return matrix + size * torch.eye(size, dtype=torch.float64)


def _labels(torch, generator, count, classes):
    return torch.randint(0, classes, (count,), generator=generator)


def _functional(torch):
    return torch.nn.functional


def _recurrent(kind):
    def inputs(torch, generator):
        module = getattr(torch.nn, kind)(4, 5, batch_first=True).double()
        weights = [parameter.detach().clone() for parameter in module.parameters()]
        return [_randn(torch, generator, 2, 3, 4)] + weights

    def call(torch, x, *weights):
        module = getattr(torch.nn, kind)(4, 5, batch_first=True, device=x.device, dtype=x.dtype)
        names = [name for name, _ in module.named_parameters()]
        output = torch.func.functional_call(module, dict(zip(names, weights)), (x,))
        return output[0]

    return inputs, call


def _bernoulli_values(torch, output, inputs):
    values = set(output.cpu().flatten().tolist())
    if not values <= {0, 1}:
        return "values other than 0 and 1: %s" % sorted(values)[:5]
    return None


def _bernoulli_mean(torch, output, inputs):
    problem = _bernoulli_values(torch, output, inputs)
    if problem:
        return problem
    mean = output.double().mean().item()
    if not 0.3 < mean < 0.7:
        return "mean %.3f for p=0.5" % mean
    return None


def _multinomial_valid(torch, output, inputs):
    drawn = output.cpu()
    if drawn.min().item() < 0 or drawn.max().item() >= inputs[0].shape[-1]:
        return "indices outside the distribution: %s" % drawn.tolist()[:5]
    if (inputs[0].cpu()[0, drawn[0]] == 0).any().item():
        return "drew a category of probability 0"
    return None


def _randperm_valid(torch, output, inputs):
    if sorted(output.cpu().tolist()) != list(range(64)):
        return "not a permutation of 0..63"
    return None


_LSTM = _recurrent("LSTM")
_GRU = _recurrent("GRU")

# Lessons (Practical Deep Learning): 1 vision, 2 deployment, 3 foundations, 4 NLP, 5 tabular, 6 random
# forests, 7 collaborative filtering, 8 convolutions.
VISION = (1, 2, 8)
CATALOG = [
    # fastai's aug_transforms warp solves for perspective coefficients (fastai/vision/augment.py
    # find_coeffs); missing on MPS before torch 2.7 (pytorch#151189; kernel added in pytorch PR #146531).
    Op("linalg.solve", (1, 2), "fastai aug_transforms warp (find_coeffs)",
       lambda torch, g: [_well_conditioned(torch, g, 4), _randn(torch, g, 4, 2)],
       lambda torch, a, b: torch.linalg.solve(a, b), backward=True),
    Op("linalg.inv", (3,), "matrix inverse",
       lambda torch, g: [_well_conditioned(torch, g, 4)], lambda torch, a: torch.linalg.inv(a), backward=True),
    Op("linalg.det", (3,), "determinant",
       lambda torch, g: [_well_conditioned(torch, g, 4)], lambda torch, a: torch.linalg.det(a), backward=True),
    Op("linalg.lstsq", (3, 5), "least squares (linear models from scratch)",
       lambda torch, g: [_randn(torch, g, 6, 3), _randn(torch, g, 6, 2)],
       lambda torch, a, b: torch.linalg.lstsq(a, b).solution),
    Op("grid_sample", VISION, "fastai affine and warp augmentations",
       lambda torch, g: [_images(torch, g), (_randn(torch, g, 2, 8, 8, 2) * 0.5).clamp(-0.9, 0.9)],
       lambda torch, x, grid: _functional(torch).grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                                                             align_corners=True), backward=True),
    Op("affine_grid", VISION, "fastai affine augmentations (flips, rotations, zoom)",
       lambda torch, g: [_randn(torch, g, 2, 2, 3)],
       lambda torch, theta: _functional(torch).affine_grid(theta, [2, 3, 8, 8], align_corners=False),
       backward=True),
    Op("interpolate.nearest", VISION, "Resize",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).interpolate(x, size=(12, 12), mode="nearest"), backward=True),
    Op("interpolate.bilinear", VISION, "Resize and RandomResizedCrop",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).interpolate(x, size=(12, 12), mode="bilinear", align_corners=False),
       backward=True),
    Op("interpolate.bicubic", VISION, "high-quality resizing",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).interpolate(x, size=(12, 12), mode="bicubic", align_corners=False),
       backward=True),
    Op("conv2d", VISION, "every convolutional layer of resnet",
       lambda torch, g: [_images(torch, g), _randn(torch, g, 4, 3, 3, 3), _randn(torch, g, 4)],
       lambda torch, x, w, b: _functional(torch).conv2d(x, w, b, padding=1), backward=True),
    Op("conv_transpose2d", (8,), "upsampling layers",
       lambda torch, g: [_images(torch, g), _randn(torch, g, 3, 4, 3, 3)],
       lambda torch, x, w: _functional(torch).conv_transpose2d(x, w, stride=2), backward=True),
    Op("max_pool2d", VISION, "resnet's stem",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).max_pool2d(x, 3, stride=2, padding=1), backward=True),
    Op("avg_pool2d", (8,), "pooling",
       lambda torch, g: [_images(torch, g)], lambda torch, x: _functional(torch).avg_pool2d(x, 2), backward=True),
    Op("adaptive_avg_pool2d", VISION, "fastai's head (AdaptiveConcatPool2d)",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).adaptive_avg_pool2d(x, 1), backward=True),
    Op("adaptive_max_pool2d", VISION, "fastai's head (AdaptiveConcatPool2d)",
       lambda torch, g: [_images(torch, g)],
       lambda torch, x: _functional(torch).adaptive_max_pool2d(x, 1), backward=True),
    Op("batch_norm", (1, 2, 5, 8), "BatchNorm layers in training mode",
       lambda torch, g: [_images(torch, g), _randn(torch, g, 3), _randn(torch, g, 3)],
       lambda torch, x, w, b: _functional(torch).batch_norm(x, None, None, w, b, training=True), backward=True),
    Op("layer_norm", (4,), "transformer layers",
       lambda torch, g: [_randn(torch, g, 2, 5, 8), _randn(torch, g, 8), _randn(torch, g, 8)],
       lambda torch, x, w, b: _functional(torch).layer_norm(x, (8,), w, b), backward=True),
    Op("cross_entropy", (1, 2, 4, 8), "classification loss",
       lambda torch, g: [_randn(torch, g, 6, 5), _labels(torch, g, 6, 5)],
       lambda torch, x, y: _functional(torch).cross_entropy(x, y), backward=True),
    Op("nll_loss", (3, 4), "negative log likelihood",
       lambda torch, g: [_randn(torch, g, 6, 5), _labels(torch, g, 6, 5)],
       lambda torch, x, y: _functional(torch).nll_loss(_functional(torch).log_softmax(x, -1), y), backward=True),
    Op("binary_cross_entropy_with_logits", (3, 5), "binary and multi-label loss",
       lambda torch, g: [_randn(torch, g, 6, 3), (_randn(torch, g, 6, 3) > 0).double()],
       lambda torch, x, y: _functional(torch).binary_cross_entropy_with_logits(x, y), backward=True),
    Op("mse_loss", (3, 5, 7), "regression and collaborative filtering loss",
       lambda torch, g: [_randn(torch, g, 6, 3), _randn(torch, g, 6, 3)],
       lambda torch, x, y: _functional(torch).mse_loss(x, y), backward=True),
    Op("embedding", (4, 5, 7), "tabular categories, collaborative filtering, token embeddings",
       lambda torch, g: [_labels(torch, g, 7, 10), _randn(torch, g, 10, 4)],
       lambda torch, i, w: _functional(torch).embedding(i, w), backward=True),
    Op("embedding_bag", (7,), "bags of embeddings",
       lambda torch, g: [_labels(torch, g, 8, 10), _randn(torch, g, 10, 4), torch.tensor([0, 3, 5])],
       lambda torch, i, w, offsets: _functional(torch).embedding_bag(i, w, offsets, mode="mean"), backward=True),
    Op("lstm", (4,), "fastai's AWD-LSTM text models", _LSTM[0], _LSTM[1], backward=True),
    Op("gru", (4,), "recurrent text models", _GRU[0], _GRU[1], backward=True),
    Op("softmax", (1, 2, 3, 4, 8), "predictions' probabilities",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.softmax(x, -1), backward=True),
    Op("log_softmax", (1, 3, 4), "log probabilities in losses",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.log_softmax(x, -1), backward=True),
    Op("sort", (3, 6), "ranking and metrics",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: tuple(torch.sort(x, -1))),
    Op("topk", (1, 2), "top predictions (ImageClassifierCleaner, interpretation)",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: tuple(torch.topk(x, 3, -1))),
    Op("argmax", (1, 2, 3, 8), "accuracy and decoded predictions",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.argmax(x, -1)),
    Op("unique", (5, 6, 7), "category codes",
       lambda torch, g: [_labels(torch, g, 20, 6)], lambda torch, x: torch.unique(x)),
    Op("nonzero", (3, 5), "masks and indexing",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.nonzero(x > 0)),
    Op("bincount", (1, 5), "class counts (confusion matrix)",
       lambda torch, g: [_labels(torch, g, 20, 6)], lambda torch, x: torch.bincount(x, minlength=6)),
    Op("cumsum", (3, 7), "cumulative sums",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.cumsum(x, -1), backward=True),
    Op("gather", (3, 4), "picking targets' probabilities",
       lambda torch, g: [_randn(torch, g, 4, 6), _labels(torch, g, 4, 6).view(4, 1)],
       lambda torch, x, i: torch.gather(x, 1, i), backward=True),
    Op("scatter_add", (4, 7), "accumulating by index",
       lambda torch, g: [_randn(torch, g, 3, 5), _labels(torch, g, 15, 4).view(3, 5), _randn(torch, g, 3, 5)],
       lambda torch, base, i, src: base.scatter_add(1, i, src), backward=True),
    Op("index_add", (4, 7), "accumulating rows by index",
       lambda torch, g: [_randn(torch, g, 5, 3), _labels(torch, g, 4, 5), _randn(torch, g, 4, 3)],
       lambda torch, base, i, src: base.index_add(0, i, src), backward=True),
    Op("masked_select", (3, 5), "boolean indexing",
       lambda torch, g: [_randn(torch, g, 4, 6)], lambda torch, x: torch.masked_select(x, x > 0), backward=True),
    Op("repeat_interleave", (4, 7), "batching variable-length items",
       lambda torch, g: [_randn(torch, g, 4, 3), torch.tensor([1, 2, 0, 3])],
       lambda torch, x, r: torch.repeat_interleave(x, r, dim=0), backward=True),
    Op("bernoulli", (1, 4, 5), "dropout and random masks",
       lambda torch, g: [torch.full((400,), 0.5, dtype=torch.float64)], lambda torch, p: torch.bernoulli(p),
       validate=_bernoulli_mean),
    # fastai's mask_tensor draws bernoulli_ into an integer tensor; on MPS that aborted the process with
    # "LLVM ERROR: Failed to infer result type(s)" (fastai#3911, pytorch#78503).
    Op("bernoulli_.int64", (4,), "fastai mask_tensor (dropout masks on integer tensors)",
       lambda torch, g: [torch.zeros(64, dtype=torch.int64)], lambda torch, x: x.clone().bernoulli_(0.5),
       validate=_bernoulli_values),
    Op("multinomial", (4,), "sampling text and weighted data",
       lambda torch, g: [torch.tensor([[0.0, 0.2, 0.3, 0.5]], dtype=torch.float64)],
       lambda torch, p: torch.multinomial(p, 16, replacement=True), validate=_multinomial_valid),
    Op("randperm", (1, 5, 7), "shuffling",
       lambda torch, g: [torch.zeros(1)], lambda torch, anchor: torch.randperm(64, device=anchor.device),
       validate=_randperm_valid),
    Op("matmul.float16", (1, 2), "mixed-precision training (learn.to_fp16())",
       lambda torch, g: [_randn(torch, g, 8, 16), _randn(torch, g, 16, 4)],
       lambda torch, a, b: torch.matmul(a, b), dtype="float16", tolerance=(2e-2, 2e-2)),
    Op("matmul.bfloat16", (1, 2), "mixed-precision training in bfloat16",
       lambda torch, g: [_randn(torch, g, 8, 16), _randn(torch, g, 16, 4)],
       lambda torch, a, b: torch.matmul(a, b), dtype="bfloat16", tolerance=(5e-2, 1e-1)),
    Op("autocast.linear", (1, 2), "automatic mixed precision (learn.to_fp16())",
       lambda torch, g: [_randn(torch, g, 8, 16), _randn(torch, g, 4, 16)],
       lambda torch, x, w: _autocast_linear(torch, x, w), tolerance=(5e-2, 1e-1)),
    # MPS has no float64: "Cannot convert a MPS Tensor to float64 dtype" (MPS_ERROR_DOUBLE_NOT_SUPPORTED in
    # aten/src/ATen/mps/EmptyTensor.cpp); pandas data is float64.
    Op("float64", (5, 6), "tabular data straight from pandas (float64)",
       lambda torch, g: [_randn(torch, g, 4, 3)], lambda torch, x: x * 2 + 1, keep_float64=True),
]


def _autocast_linear(torch, x, w):
    device_type = x.device.type
    dtype = torch.bfloat16 if device_type == "cpu" else torch.float16
    with torch.autocast(device_type=device_type, dtype=dtype):
        return torch.nn.functional.linear(x, w).float()


def catalog_names():
    return [op.name for op in CATALOG]


def ops_for_lesson(lesson):
    return [op for op in CATALOG if lesson is None or lesson in op.lessons]
