"""convert() and the seed-compatible weightless_onnx_loader() context manager."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from onnx import ModelProto
from torch import fx

from . import _core
from ._builder import build_graph_module, build_subgraph
from ._fake_run import INTEGER_SHAPES
from ._gc_pause import paused_collection
from ._meta_forward import MetaCallingGraphModule
from ._session import Session, session
from ._skeleton import DEFAULT_SIZE_THRESHOLD

__all__ = ["convert", "weightless_onnx_loader"]


def convert(
    model: str | os.PathLike | ModelProto,
    *,
    strict: bool = False,
    size_threshold: int = DEFAULT_SIZE_THRESHOLD,
    base_dir: str | os.PathLike | None = None,
    with_weights: bool = False,
    save_input_names: bool = False,
    attach_onnx_mapping: bool = False,
    progress: bool | None = None,
    integer_shapes: bool = False,
) -> fx.GraphModule:
    """Converts an ONNX model to a ``torch.fx.GraphModule`` without its weights.

    ``model`` is a path (read as a skeleton: payloads are never read) or a ModelProto (from
    :func:`load` or anywhere else). Weights and tensors over ``size_threshold`` bytes become
    ``meta`` tensors; smaller tensors whose bytes are at hand stay real; tensors read as values
    (shapes, axes, pads...) are read from wherever they are, or MissingWeightsError names them.
    ``base_dir`` is the folder external data resolves against when ``model`` is a ModelProto.
    No parameter-sized memory is allocated and nothing is written anywhere.

    Nodes convert with onnx2torch's converters and this package's (newer op versions, ops
    onnx2torch lacks, common com.microsoft ops). A node no converter handles becomes an
    :class:`OpaqueOp` carrying its description and inferred output shapes, unless ``strict``,
    which raises UnsupportedOperatorError listing every such operator before converting anything.

    ``with_weights=True`` reads every tensor instead (MissingWeightsError if one is absent): the
    same module with real weights, the reference the weightless conversion is tested against.

    The module is returned in eval mode, computing what ONNX specifies: BatchNormalization uses
    the model's statistics, Dropout drops only when its ``training_mode`` input is true.
    ``module.train()`` switches to PyTorch's training behaviour (batch statistics, which updates
    the running ones, and dropout). The result runs on meta inputs through :func:`meta_forward`. ``progress`` shows a progress
    line on stderr for conversions longer than half a second: None (the default) when stderr is a
    terminal, True always, False never.

    ``integer_shapes=True`` computes shapes as Python integers: the values a graph computes from
    its tensors' shapes and small integer constants (``Shape -> Gather -> Concat -> Reshape``) become
    integer arithmetic on ``x.shape``, and the operators reading them take them as Python values; an
    If on a computed condition runs through ``torch.cond`` and a Loop through ``while_loop``. So
    torch.export (see :func:`export`) and ``torch.compile(fullgraph=True)`` trace the module with
    symbolic sizes. Parameter and buffer names are the same either way.
    """
    if base_dir is None or isinstance(base_dir, _core.DataFolder):
        folder = base_dir
    else:
        folder = _core.DataFolder(os.path.abspath(os.fspath(base_dir)))
    with paused_collection(), session(size_threshold, folder, with_weights, build_subgraph) as state:
        onnx_model = state.begin_conversion(model if isinstance(model, ModelProto) else os.fspath(model))
        state.conversion.integer_shapes = integer_shapes
        module = build_graph_module(
            onnx_model,
            state.conversion,
            strict=strict,
            save_input_names=save_input_names,
            attach_onnx_mapping=attach_onnx_mapping,
            progress=progress,
            module_class=MetaCallingGraphModule,
        )
    if integer_shapes:  # dynamo (torch.compile, torch.cond, while_loop) refuses lazily compiled forwards
        module.meta[INTEGER_SHAPES] = True
        for graph in module.modules():
            if hasattr(graph, "real_recompile"):
                graph.real_recompile()
    # ONNX graphs specify inference: BatchNormalization with the model's statistics, Dropout as
    # the identity unless its training_mode input says otherwise.
    return module.eval()


@contextmanager
def weightless_onnx_loader(size_threshold: int = DEFAULT_SIZE_THRESHOLD) -> Iterator[Session]:
    """Within this context ``onnx.load(path)`` returns the model's skeleton and
    ``onnx2torch.convert(model_or_path)`` builds a GraphModule with meta weights, weight files
    present or not. Everything is restored on exit, exceptions included; contexts nest, and
    other threads keep plain onnx/onnx2torch behaviour meanwhile.

    >>> with weightless_onnx_loader():
    ...     torch_model = onnx2torch.convert(onnx.load("model.onnx"))
    """
    with session(size_threshold, subgraph_builder=build_subgraph) as state:
        yield state
