"""Regenerates tests/wild/tf2onnx/: small TensorFlow/Keras models exported by tf2onnx, the
converter TensorFlow and Keras users run: NHWC convolutions wrapped in Transposes, batch norm,
pooling, resizing in TensorFlow's coordinate conventions, Keras LSTM and GRU layers rewritten to
ONNX LSTM and GRU (a SimpleRNN left as a Loop), a tf.while_loop as a Loop, a tf.cond as an If, and
files at old opsets (9, 10, 11) beside tf2onnx's default (15) and a newer one (18).

Run with the interpreter of the environment locked in requirements/lock-wild-tf2onnx.txt
(`make wild-corpus` creates it in .cache/wild-tf2onnx-venv and runs this script). Every weight
is drawn from a generator seeded by the model's name; before a file is written, onnxruntime runs
it and must give TensorFlow's own outputs. The files are written as tf2onnx returns them, with
two places where it lets memory addresses into a file made deterministic (``_without_addresses``);
each is converted in an interpreter of its own, so that the names TensorFlow and tf2onnx number
per process come out the same whichever files are made.

Usage: python scripts/make_wild_tf2onnx.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import os
import sys
import zlib
from importlib.metadata import version
from pathlib import Path

import numpy as np

from wild_corpus import arguments, check_against, finish, per_interpreter, write_model

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "wild" / "tf2onnx"
SEED = 20240802
SIZE_LIMIT = 5 * 1024 * 1024
VOCABULARY = 64  # above the 0-49 the corpus sweep feeds integer inputs
_CASE_VARIABLE = "MAKE_WILD_TF2ONNX_CASE"  # set in the interpreter that converts one case


def _seeded_weights(model, rng: np.random.Generator) -> None:
    """Replaces every variable with seeded values (variances positive), so the file does not depend
    on Keras' initialisers or TensorFlow's global seed."""
    for variable in model.variables:
        shape = tuple(variable.shape)
        scale = 1 / np.sqrt(shape[0]) if len(shape) > 1 else 0.5
        values = rng.standard_normal(shape) * scale
        if "variance" in variable.name:
            values = rng.uniform(0.5, 1.5, shape)
        variable.assign(values.astype(variable.dtype.as_numpy_dtype))


def _tokens(rng):
    return [rng.integers(0, VOCABULARY, (3, 7)).astype(np.int32)]


def _normal(*shape: int):
    """Inputs to check on: one standard normal array of ``shape``."""
    return lambda rng: [rng.standard_normal(shape).astype(np.float32)]


def _with_steps(rng):
    return [rng.standard_normal((3, 8)).astype(np.float32), np.array(4, np.int64)]


def _with_indices(rng):
    return [rng.standard_normal((3, 6, 8)).astype(np.float32), rng.integers(0, 50, (3, 6)).astype(np.int32)]


def cnn_nhwc():
    """Conv2D (NHWC), BatchNormalization, MaxPool, DepthwiseConv2D, ReLU6, global average pooling,
    Dense with softmax."""
    import tensorflow as tf
    from tensorflow.keras import layers

    image = tf.keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(image)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = layers.Conv2D(16, 3, strides=2, name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.ReLU(6.0, name="relu6")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    probabilities = layers.Dense(10, activation="softmax", name="classifier")(x)
    return tf.keras.Model(image, probabilities, name="cnn_nhwc")


def cnn_upsample():
    """An encoder-decoder: strided Conv2D, LeakyReLU, AveragePooling, UpSampling2D (nearest and
    bilinear), Conv2DTranspose, Concatenate on channels, Flatten, Dense."""
    import tensorflow as tf
    from tensorflow.keras import layers

    image = tf.keras.Input((16, 16, 3), name="image")
    down = layers.Conv2D(8, 3, strides=2, padding="same", name="down")(image)
    down = layers.LeakyReLU(0.1, name="leaky")(down)
    pooled = layers.AveragePooling2D(2, name="avgpool")(down)
    up_nearest = layers.UpSampling2D(2, name="up_nearest")(pooled)
    up_bilinear = layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(pooled)
    joined = layers.Concatenate(name="concat")([down, up_nearest, up_bilinear])
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="sigmoid", name="deconv")(joined)
    x = layers.Conv2D(2, 4, strides=4, name="head")(x)
    x = layers.Flatten(name="flatten")(x)
    logits = layers.Dense(5, activation="tanh", name="dense")(x)
    return tf.keras.Model(image, logits, name="cnn_upsample")


def lstm_text_classifier():
    """Embedding (Gather), a Keras LSTM (an ONNX LSTM), Dense with softmax."""
    import tensorflow as tf
    from tensorflow.keras import layers

    tokens = tf.keras.Input((7,), dtype=tf.int32, name="tokens")
    x = layers.Embedding(VOCABULARY, 16, name="embedding")(tokens)
    x = layers.LSTM(24, name="lstm")(x)
    probabilities = layers.Dense(3, activation="softmax", name="classifier")(x)
    return tf.keras.Model(tokens, probabilities, name="lstm_text_classifier")


def bidirectional_gru():
    """A bidirectional GRU returning sequences (Keras' reset_after: linear_before_reset), a
    SimpleRNN over its outputs (tf2onnx leaves its while loop a Loop), Dense."""
    import tensorflow as tf
    from tensorflow.keras import layers

    sequence = tf.keras.Input((5, 6), name="sequence")
    x = layers.Bidirectional(layers.GRU(8, return_sequences=True, name="gru"), name="bidirectional")(sequence)
    x = layers.SimpleRNN(8, name="simple_rnn")(x)
    out = layers.Dense(4, name="dense")(x)
    return tf.keras.Model(sequence, out, name="bidirectional_gru")


def transformer_block():
    """MultiHeadAttention, LayerNormalization, Dense with gelu, residuals: tf2onnx rewrites the
    attention's Einsums to MatMul, Transpose and Reshape, the norms to their arithmetic (ReduceMean,
    Sqrt, Reciprocal) and gelu with Erf."""
    import tensorflow as tf
    from tensorflow.keras import layers

    sequence = tf.keras.Input((5, 16), name="sequence")
    attended = layers.MultiHeadAttention(2, 8, name="attention")(sequence, sequence)
    x = layers.LayerNormalization(epsilon=1e-5, name="norm1")(sequence + attended)
    hidden = layers.Dense(32, activation="gelu", name="ffn_in")(x)
    x = layers.LayerNormalization(epsilon=1e-5, name="norm2")(x + layers.Dense(16, name="ffn_out")(hidden))
    return tf.keras.Model(sequence, x, name="transformer_block")


class _Weights:
    """Seeded weights for the tf.function cases, as numpy arrays: TensorFlow makes them Const nodes
    of the graph that uses them (a captured tf.constant would become an input instead)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def __call__(self, *shape: int) -> np.ndarray:
        return (self.rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)


def while_loop(rng: np.random.Generator):
    """A tf.while_loop run ``steps`` times (an input), carrying a state through a dense cell, and
    stopping early once the state's norm falls under a bound (a loop condition on data)."""
    import tensorflow as tf

    weight = _Weights(rng)
    w, b = weight(8, 8), weight(8)

    @tf.function
    def iterate(x, steps):
        def condition(i, state):
            return tf.logical_and(i < steps, tf.reduce_sum(tf.abs(state)) > 1e-3)

        def body(i, state):
            return i + 1, tf.tanh(tf.matmul(state, w) + b) * 0.9

        count, final = tf.while_loop(condition, body, (tf.constant(0, tf.int64), x))
        return {"final": final, "count": count}

    return iterate, [tf.TensorSpec((None, 8), tf.float32, name="x"), tf.TensorSpec((), tf.int64, name="steps")]


def cond_branches(rng: np.random.Generator):
    """A tf.cond on a value computed from the input (its mean's sign), each branch with weights of
    its own: an If."""
    import tensorflow as tf

    weight = _Weights(rng)
    w1, w2 = weight(8, 8), weight(8, 4)

    @tf.function
    def switch(x):
        y = tf.cond(tf.reduce_mean(x) > 0, lambda: tf.nn.relu(tf.matmul(x, w1)), lambda: tf.sigmoid(tf.matmul(x, w1)))
        return {"y": tf.matmul(y, w2)}

    return switch, [tf.TensorSpec((None, 8), tf.float32, name="x")]


def tensor_ops(rng: np.random.Generator):
    """TensorFlow ops as tf2onnx rewrites them: strided slices with new and shrunk axes, TopK,
    ArgMax, an exclusive reverse CumSum, OneHot, reflecting Pad, GatherND, Tile, Reverse (as
    ReverseSequence), FloorMod, a where on a comparison, l2 normalisation."""
    import tensorflow as tf

    weight = _Weights(rng)
    w = weight(8, 8)

    @tf.function
    def ops(x, indices):
        h = tf.matmul(x, w)  # [batch, 6, 8]
        sliced = h[:, 1:5, tf.newaxis, ::2]  # [batch, 4, 1, 4]
        last = h[:, -1]  # [batch, 8]
        values, positions = tf.math.top_k(last, k=3)
        best = tf.argmax(h, axis=-1)  # [batch, 6]
        running = tf.cumsum(h, axis=1, exclusive=True, reverse=True)
        hot = tf.one_hot(indices % 8, 8, on_value=2.0, off_value=-1.0)  # [batch, 6, 8]
        padded = tf.pad(h, [[0, 0], [1, 2], [2, 1]], mode="REFLECT")
        gathered = tf.gather_nd(h, tf.stack([tf.zeros_like(indices[:, 0]), indices[:, 0] % 6], axis=1))
        tiled = tf.tile(tf.reverse(sliced, axis=[1]), [1, 1, 2, 1])
        wrapped = tf.math.floormod(h, 0.75)
        picked = tf.where(h > 0, h, hot * running)
        unit = tf.math.l2_normalize(picked + wrapped, axis=-1)
        return {"unit": unit, "values": values, "positions": positions, "best": best, "padded": padded,
                "gathered": gathered, "tiled": tiled}

    return ops, [tf.TensorSpec((None, 6, 8), tf.float32, name="x"), tf.TensorSpec((None, 6), tf.int32, name="indices")]


def image_ops(rng: np.random.Generator):
    """Image ops at NHWC: SpaceToDepth, DepthToSpace, bilinear and bicubic resizing (TensorFlow's
    half-pixel and align_corners forms), symmetric Pad, max pooling with strides, clip by value."""
    import tensorflow as tf

    weight = _Weights(rng)
    w = weight(4, 3, 3, 8).transpose(1, 2, 0, 3)  # a [3, 3, 4, 8] filter

    @tf.function
    def ops(image):
        x = tf.nn.conv2d(image, w, strides=1, padding="SAME")  # [batch, 8, 8, 8]
        packed = tf.nn.space_to_depth(x, 2)  # [batch, 4, 4, 32]
        unpacked = tf.nn.depth_to_space(packed, 4)  # [batch, 16, 16, 2]
        bilinear = tf.image.resize(x, (12, 10), method="bilinear")
        corners = tf.compat.v1.image.resize_bilinear(x, (5, 11), align_corners=True)
        bicubic = tf.image.resize(x, (16, 16), method="bicubic")
        mirrored = tf.pad(x, [[0, 0], [2, 1], [1, 2], [0, 0]], mode="SYMMETRIC")
        pooled = tf.nn.max_pool2d(mirrored, 3, strides=2, padding="VALID")
        return {"unpacked": unpacked, "bilinear": bilinear, "corners": corners,
                "bicubic": tf.clip_by_value(bicubic, -1.0, 1.0), "pooled": pooled}

    return ops, [tf.TensorSpec((None, 8, 8, 4), tf.float32, name="image")]


def nearest_upsample(rng: np.random.Generator):
    """TensorFlow 1's nearest and bilinear resizing without half-pixel centres, the forms opsets 9
    (Upsample) and 10 (Resize-10) can express, between two convolutions."""
    import tensorflow as tf

    weight = _Weights(rng)
    w1, w2 = weight(3, 3, 3, 4), weight(3, 3, 4, 2)

    @tf.function
    def upsample(image):
        x = tf.nn.relu(tf.nn.conv2d(image, w1, strides=2, padding="SAME"))  # [batch, 4, 4, 4]
        nearest = tf.compat.v1.image.resize_nearest_neighbor(x, (8, 12))
        bilinear = tf.compat.v1.image.resize_bilinear(x, (8, 12))
        return {"y": tf.nn.conv2d(nearest + bilinear, w2, strides=1, padding="VALID")}

    return upsample, [tf.TensorSpec((None, 8, 8, 3), tf.float32, name="image")]


KERAS = {"cnn_nhwc": cnn_nhwc, "cnn_upsample": cnn_upsample, "lstm_text_classifier": lstm_text_classifier,
         "bidirectional_gru": bidirectional_gru, "transformer_block": transformer_block}
FUNCTIONS = {"while_loop": while_loop, "cond_branches": cond_branches, "tensor_ops": tensor_ops,
             "image_ops": image_ops, "nearest_upsample": nearest_upsample}


# (file name, model, opset, inputs to check on); tf2onnx 1.17's default opset is 15.
CASES = [
    ("cnn_nhwc", "cnn_nhwc", 15, _normal(3, 16, 16, 3)),
    ("cnn_nhwc_opset9", "cnn_nhwc", 9, _normal(3, 16, 16, 3)),
    ("cnn_upsample", "cnn_upsample", 15, _normal(3, 16, 16, 3)),
    ("cnn_upsample_opset11", "cnn_upsample", 11, _normal(3, 16, 16, 3)),
    ("lstm_text_classifier", "lstm_text_classifier", 15, _tokens),
    ("lstm_text_classifier_opset9", "lstm_text_classifier", 9, _tokens),
    ("bidirectional_gru", "bidirectional_gru", 15, _normal(3, 5, 6)),
    ("transformer_block_opset18", "transformer_block", 18, _normal(3, 5, 16)),
    ("while_loop", "while_loop", 15, _with_steps),
    ("while_loop_opset11", "while_loop", 11, _with_steps),
    ("cond_branches", "cond_branches", 15, _normal(3, 8)),
    ("tensor_ops", "tensor_ops", 15, _with_indices),
    ("image_ops", "image_ops", 15, _normal(3, 8, 8, 4)),
    ("nearest_upsample_opset9", "nearest_upsample", 9, _normal(3, 8, 8, 3)),
    ("nearest_upsample_opset10", "nearest_upsample", 10, _normal(3, 8, 8, 3)),
]


def _without_addresses() -> None:
    """Two places where tf2onnx lets a Python object's memory address, different in every run, into
    the file; each gets a value fixed by the order of the work instead, one tf2onnx itself could
    have produced.

    Graph.extract_sub_graph_nodes gathers a graph's live nodes in a set of Node objects and returns
    it as a list in address order; the graph takes that order, and merging duplicated nodes keeps
    whichever of two equal nodes comes first, so node names changed from run to run: the nodes
    come in the graph's own order instead. The Einsum rewriting names the constants it adds after
    an object's address (``einsum139934846523664_id_axes__50``), which also orders the nodes, as
    tf2onnx sorts them by name: numbered in the order they are made instead (``einsum0_...``)."""
    import itertools

    from tf2onnx.graph import Graph
    from tf2onnx.optimizer.einsum_optimizer import EinsumSubOp

    extract = Graph.extract_sub_graph_nodes

    def in_graph_order(self, outputs_name, input_checker=None, remove_unused_inputs=True):
        position = {id(node): index for index, node in enumerate(self.get_nodes())}
        kept = extract(self, outputs_name, input_checker, remove_unused_inputs)
        return sorted(kept, key=lambda node: (position.get(id(node), len(position)), node.name))

    Graph.extract_sub_graph_nodes = in_graph_order
    numbers = itertools.count()

    def numbered_name(self) -> str:
        if "_wild_number" not in self.__dict__:
            self._wild_number = next(numbers)
        return f"einsum{self._wild_number}_{self.name[:2]}"

    EinsumSubOp._onnx_name = numbered_name


def _convert(model_name: str, opset: int, rng: np.random.Generator):
    """The ONNX model and a function giving TensorFlow's outputs (a list) for a list of inputs."""
    import tensorflow as tf
    import tf2onnx

    if model_name in KERAS:
        model = KERAS[model_name]()
        _seeded_weights(model, rng)
        signature = [tf.TensorSpec(i.shape, i.dtype, name=i.name) for i in model.inputs]
        onnx_model, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)

        def expected(data):
            out = model(data if len(data) > 1 else data[0], training=False)
            return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
    else:
        function, signature = FUNCTIONS[model_name](rng)
        onnx_model, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)

        def expected(data):  # tf2onnx orders the outputs by name
            out = function(*data)
            return [np.asarray(out[key]) for key in sorted(out)]
    return onnx_model, expected


def _convert_one(name: str, out: Path) -> int:
    """Converts, checks and writes one case (in an interpreter of its own); 1 if it failed."""
    import tensorflow as tf

    _without_addresses()
    # One thread: grappler folds constants into the file with TensorFlow's kernels, whose sums
    # must not depend on how the work is split.
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    _, model_name, opset, data = next(case for case in CASES if case[0] == name)
    rng = np.random.default_rng([SEED, zlib.crc32(model_name.encode())])
    try:
        model, expected = _convert(model_name, opset, rng)
        inputs = data(rng)
        check_against(model, inputs, expected(inputs), "TensorFlow")
    except Exception as err:  # noqa: BLE001 - reported, and the parent fails
        print(f"FAILED {name}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    write_model(out / f"{name}.onnx", model, ROOT)
    return 0


def main() -> int:
    args = arguments(__doc__, DEFAULT_OUT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices
    args.out.mkdir(parents=True, exist_ok=True)
    if _CASE_VARIABLE in os.environ:
        return _convert_one(os.environ[_CASE_VARIABLE], args.out)
    print(f"tf2onnx {version('tf2onnx')}, tensorflow {version('tensorflow-cpu')}", flush=True)
    names = [name for name, *_ in CASES if not args.only or name in args.only]
    # TensorFlow numbers its functions and tf2onnx its nodes and dimensions with process-wide
    # counters; the string hash seed fixes the order tf2onnx walks its sets in.
    written, failures = per_interpreter(Path(__file__).resolve(), names, args.out, _CASE_VARIABLE,
                                        {"TF_CPP_MIN_LOG_LEVEL": "2"})
    return finish(args.out, written, failures, SIZE_LIMIT, "converter")


if __name__ == "__main__":
    sys.exit(main())
