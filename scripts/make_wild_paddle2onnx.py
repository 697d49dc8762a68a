"""Regenerates tests/wild/paddle2onnx/: small PaddlePaddle models exported by paddle2onnx, the
converter Paddle users run (PaddleOCR's and PaddleDetection's documentation export with it): NCHW
convolutions with batch norm, resizing in Paddle's coordinate conventions, Paddle's
LSTM and GRU layers as ONNX LSTM and GRU, a Transformer encoder layer with LayerNormalization,
a data-dependent if as an If and a while loop as a Loop, at opsets 7 (which paddle2onnx's command
line asks for), 9, 11, 13 and 17.

Run with the interpreter of the environment locked in requirements/lock-wild-paddle2onnx.txt
(`make wild-corpus` creates it in .cache/wild-paddle2onnx-venv and runs this script). Each model
is saved with ``paddle.jit.save`` (a PIR program and its parameters) and converted by
``paddle2onnx.export`` as its command line does, with Polygraphy folding constants afterwards.
Every weight is drawn from a generator seeded by the model's name; before a file is written,
onnxruntime runs it and must give Paddle's own outputs. Each file is converted in an interpreter
of its own, so that the names Paddle numbers per process come out the same whichever files are
made.

Usage: python scripts/make_wild_paddle2onnx.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import zlib
from importlib.metadata import version
from pathlib import Path

import numpy as np

from wild_corpus import arguments, check_against, finish, per_interpreter, write_model

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "wild" / "paddle2onnx"
SEED = 20240803
SIZE_LIMIT = 5 * 1024 * 1024
VOCABULARY = 64  # above the 0-49 the corpus sweep feeds integer inputs
_CASE_VARIABLE = "MAKE_WILD_PADDLE2ONNX_CASE"  # set in the interpreter that converts one case


def _seeded_weights(model, rng: np.random.Generator) -> None:
    """Replaces every parameter and buffer (batch norm's statistics) with seeded values, variances
    positive, so that the file does not depend on Paddle's initialisers."""
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        shape = tuple(tensor.shape)
        if "variance" in name:
            values = rng.uniform(0.5, 1.5, shape)
        else:
            values = rng.standard_normal(shape) * (1 / np.sqrt(shape[0]) if len(shape) > 1 else 0.5)
        tensor.set_value(np.asarray(values).astype(tensor.numpy().dtype))


def _models() -> dict:
    """Model name -> (layer class, input specs, inputs to check on)."""
    import paddle
    import paddle.nn.functional as F
    from paddle import nn
    from paddle.static import InputSpec

    class Cnn(nn.Layer):
        """Conv2D, BatchNorm2D, MaxPool2D, a depthwise Conv2D, ReLU6, adaptive average pooling to
        1x1, Dropout, Linear, softmax."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2D(3, 8, 3, padding=1, bias_attr=False)
            self.bn1 = nn.BatchNorm2D(8)
            self.pool = nn.MaxPool2D(2)
            self.depthwise = nn.Conv2D(8, 8, 3, padding=1, groups=8)
            self.conv2 = nn.Conv2D(8, 16, 3, stride=2)
            self.bn2 = nn.BatchNorm2D(16)
            self.gap = nn.AdaptiveAvgPool2D(1)
            self.dropout = nn.Dropout(0.5)
            self.classifier = nn.Linear(16, 10)

        def forward(self, image):
            x = self.pool(F.relu(self.bn1(self.conv1(image))))
            x = F.relu6(self.bn2(self.conv2(self.depthwise(x))))
            x = self.dropout(paddle.flatten(self.gap(x), 1))
            return F.softmax(self.classifier(x), -1)

    class Upsample(nn.Layer):
        """An encoder-decoder: strided Conv2D, ELU (not leaky_relu, whose alpha paddle2onnx 2.1
        writes wrong), average pooling, nearest (asymmetric, floor)
        and bilinear (half-pixel and align_corners) interpolation, Concat on channels,
        Conv2DTranspose with output_padding, flatten, Linear."""

        def __init__(self):
            super().__init__()
            self.down = nn.Conv2D(3, 8, 3, stride=2, padding=1)
            self.deconv = nn.Conv2DTranspose(32, 4, 3, stride=2, padding=1, output_padding=1)
            self.head = nn.Conv2D(4, 2, 4, stride=4)
            self.dense = nn.Linear(2 * 4 * 4, 5)

        def forward(self, image):
            down = F.elu(self.down(image))  # [batch, 8, 8, 8]
            pooled = F.avg_pool2d(down, 2)
            nearest = F.interpolate(pooled, size=[8, 8], mode="nearest")
            bilinear = F.interpolate(pooled, size=[8, 8], mode="bilinear", align_corners=False)
            corners = F.interpolate(pooled, size=[8, 8], mode="bilinear", align_corners=True)
            x = F.sigmoid(self.deconv(paddle.concat([down, nearest, bilinear, corners], axis=1)))
            return paddle.tanh(self.dense(paddle.flatten(self.head(x), 1)))

    class LstmTextClassifier(nn.Layer):
        """Embedding (Gather), an LSTM (an ONNX LSTM), the last step's output, Linear, softmax."""

        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCABULARY, 16)
            self.lstm = nn.LSTM(16, 24)
            self.classifier = nn.Linear(24, 3)

        def forward(self, tokens):
            outputs, _ = self.lstm(self.embedding(tokens))
            return F.softmax(self.classifier(outputs[:, -1]), -1)

    class BidirectionalGru(nn.Layer):
        """Two bidirectional GRU layers (ONNX GRUs, Paddle's linear_before_reset), Linear."""

        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 8, num_layers=2, direction="bidirect")
            self.dense = nn.Linear(16, 4)

        def forward(self, sequence):
            outputs, _ = self.gru(sequence)
            return self.dense(outputs)

    class TransformerEncoder(nn.Layer):
        """nn.TransformerEncoderLayer: multi-head self-attention, LayerNormalization, gelu (Erf)."""

        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation="gelu")

        def forward(self, sequence):
            return self.layer(sequence)

    class IfBranches(nn.Layer):
        """A Python if on a value computed from the input (its sum's sign), converted by
        paddle.jit to a cond: an If whose branches hold weights of their own."""

        def __init__(self):
            super().__init__()
            self.positive = nn.Linear(8, 8)
            self.negative = nn.Linear(8, 8)

        def forward(self, x):
            if paddle.sum(x) > 0:
                y = F.relu(self.positive(x))
            else:
                y = F.sigmoid(self.negative(x))
            return y

    class WhileLoop(nn.Layer):
        """A Python while loop run ``steps`` times (an input), converted by paddle.jit to a while
        op: a Loop carrying a state through a dense cell, and its counter."""

        def __init__(self):
            super().__init__()
            self.cell = nn.Linear(8, 8)

        def forward(self, x, steps):
            count = paddle.zeros([1], "int64")
            state = x
            while count < steps:
                state = paddle.tanh(self.cell(state)) * 0.9
                count = count + 1
            return state, count

    class TensorOps(nn.Layer):
        """TopK, ArgMax, CumSum, OneHot, Where, Gather, L2 normalisation, Flip, Tile, slicing.
        (No F.pad: paddle2onnx 2.1 writes pad3d's value from memory it never set, different in
        every run, as it does LeakyRelu's alpha.)"""

        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(8, 8)

        def forward(self, x, indices):
            h = self.dense(x)  # [batch, 6, 8]
            values, positions = paddle.topk(h[:, -1], 3)
            best = paddle.argmax(h, -1)
            running = paddle.cumsum(h, axis=1)
            hot = F.one_hot(indices % 8, 8)  # [batch, 6, 8]
            picked = paddle.where(h > 0, h, hot * running)
            gathered = paddle.gather(h, indices[0] % 6, axis=1)
            unit = F.normalize(picked, axis=-1)
            return unit, values, positions, best, gathered, paddle.tile(paddle.flip(h, [1]), [1, 2, 1])

    def normal(*shape):
        return lambda rng: [rng.standard_normal(shape).astype(np.float32)]

    image = [InputSpec([None, 3, 16, 16], "float32", "image")]
    return {
        "cnn": (Cnn, image, normal(3, 3, 16, 16)),
        "upsample": (Upsample, image, normal(3, 3, 16, 16)),
        "lstm_text_classifier": (LstmTextClassifier, [InputSpec([None, 7], "int64", "tokens")],
                                 lambda rng: [rng.integers(0, VOCABULARY, (3, 7))]),
        "bidirectional_gru": (BidirectionalGru, [InputSpec([None, 5, 6], "float32", "sequence")], normal(3, 5, 6)),
        "transformer_encoder": (TransformerEncoder, [InputSpec([None, 5, 16], "float32", "sequence")],
                                normal(3, 5, 16)),
        "if_branches": (IfBranches, [InputSpec([None, 8], "float32", "x")], normal(3, 8)),
        "while_loop": (WhileLoop, [InputSpec([None, 8], "float32", "x"), InputSpec([], "int64", "steps")],
                       lambda rng: [rng.standard_normal((3, 8)).astype(np.float32), np.array(4)]),
        "tensor_ops": (TensorOps, [InputSpec([None, 6, 8], "float32", "x"), InputSpec([None, 6], "int64", "indices")],
                       lambda rng: [rng.standard_normal((3, 6, 8)).astype(np.float32), rng.integers(0, 50, (3, 6))]),
    }


# (file name, model, opset asked for). paddle2onnx's command line asks for 7 and raises it to
# the lowest opset every operator of the model is converted at; paddle.onnx.export asks for 9.
CASES = [
    # IR 3, with the weights initializers but not graph inputs (which IR 3 wants): Polygraphy's
    # check of its folded model fails, and paddle2onnx writes the model unfolded, Constant nodes
    # and all; shape inference then knows no shape past the first Conv.
    ("cnn_opset7", "cnn", 7),
    ("cnn_opset9", "cnn", 9),
    ("cnn_opset17", "cnn", 17),
    ("upsample_opset11", "upsample", 11),
    ("lstm_text_classifier_opset9", "lstm_text_classifier", 9),
    ("lstm_text_classifier_opset13", "lstm_text_classifier", 13),
    ("bidirectional_gru_opset11", "bidirectional_gru", 11),
    ("transformer_encoder_opset17", "transformer_encoder", 17),
    ("if_branches_opset13", "if_branches", 13),
    ("while_loop_opset11", "while_loop", 11),
    ("tensor_ops_opset13", "tensor_ops", 13),
]


def _convert(model_name: str, opset: int, rng: np.random.Generator, folder: Path):
    """The ONNX model (as paddle2onnx writes it), and the layer."""
    import onnx
    import paddle
    import paddle2onnx

    layer_class, specs, _ = _models()[model_name]
    layer = layer_class()
    _seeded_weights(layer, rng)
    layer.eval()
    paddle.jit.save(layer, str(folder / "model"), input_spec=specs)
    path = folder / "model.onnx"
    paddle2onnx.export(str(folder / "model.json"), str(folder / "model.pdiparams"), str(path), opset_version=opset)
    if not path.exists():  # paddle2onnx logs its errors and returns
        raise RuntimeError("paddle2onnx wrote no file (its error is above)")
    return onnx.load(str(path)), layer


def _check(model, layer, data: list[np.ndarray]) -> None:
    """onnxruntime on the file gives Paddle's outputs."""
    import paddle

    theirs = layer(*[paddle.to_tensor(array) for array in data])
    check_against(model, data, [t.numpy() for t in (theirs if isinstance(theirs, (list, tuple)) else [theirs])], "Paddle")


def _convert_one(name: str, out: Path) -> int:
    """Converts, checks and writes one case (in an interpreter of its own); 1 if it failed."""
    # paddle2onnx turns on Polygraphy's installing of what it lacks (with pip, at run time); the
    # locked environment holds all it uses, and Polygraphy, imported first, keeps it off.
    import polygraphy.config

    polygraphy.config.AUTOINSTALL_DEPS = False
    _, model_name, opset = next(case for case in CASES if case[0] == name)
    rng = np.random.default_rng([SEED, zlib.crc32(model_name.encode())])
    try:
        with tempfile.TemporaryDirectory() as folder:
            model, layer = _convert(model_name, opset, rng, Path(folder))
        _check(model, layer, _models()[model_name][2](rng))
    except Exception as err:  # noqa: BLE001 - reported, and the parent fails
        print(f"FAILED {name}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    write_model(out / f"{name}.onnx", model, ROOT)
    return 0


def main() -> int:
    args = arguments(__doc__, DEFAULT_OUT)
    args.out.mkdir(parents=True, exist_ok=True)
    if _CASE_VARIABLE in os.environ:
        return _convert_one(os.environ[_CASE_VARIABLE], args.out)
    print(f"paddle2onnx {version('paddle2onnx')}, paddlepaddle {version('paddlepaddle')}", flush=True)
    names = [name for name, *_ in CASES if not args.only or name in args.only]
    # paddle2onnx and Polygraphy report every step on stdout: shown only if the file fails.
    written, failures = per_interpreter(Path(__file__).resolve(), names, args.out, _CASE_VARIABLE,
                                        {"GLOG_minloglevel": "2"}, quiet=lambda line: line.startswith("wrote "))
    return finish(args.out, written, failures, SIZE_LIMIT, "converter")


if __name__ == "__main__":
    sys.exit(main())
