"""Well-formed but hostile graphs: sizes and trip counts no machine could hold or run. Each
converts (conversion allocates nothing); inspect reports their figures; meta_forward reports the
result as meta tensors or refuses with a LimitError, never by exhausting memory or time."""

from __future__ import annotations

import json
import resource
import subprocess
import time

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow

X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)


def _model(nodes, initializers, functions=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hostile", [X], [Y], [numpy_helper.from_array(np.asarray(v), n) for n, v in initializers])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], functions=list(functions))


def _loop(trips: int) -> onnx.ModelProto:
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Add", ["h", "one"], ["h_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [4])])
    return _model([helper.make_node("Loop", ["n", "", "x"], ["y"], name="loop", body=body)],
                  [("n", np.array(trips, np.int64)), ("one", np.ones(4, np.float32))])


HOSTILE = {
    # x[4] expanded to 2^40 elements, then reshaped.
    "reshape_2e40": (_model([helper.make_node("Expand", ["x", "big"], ["e"]), helper.make_node("Reshape", ["e", "shape"], ["y"])],
                            [("big", np.array([1 << 20, 1 << 18, 4], np.int64)), ("shape", np.array([1 << 20, 1 << 20], np.int64))]),
                     (1 << 20, 1 << 20)),
    "constant_of_shape_2e52": (_model([helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["c", "x"], ["y"])],
                                      [("s", np.array([1 << 30, 1 << 20, 4], np.int64))]),
                               (1 << 30, 1 << 20, 4)),
    "expand_1e6_fold": (_model([helper.make_node("Expand", ["x", "s"], ["y"])], [("s", np.array([1000, 1000, 4], np.int64))]),
                        (1000, 1000, 4)),
    "tile_2e40": (_model([helper.make_node("Tile", ["x", "r"], ["y"])], [("r", np.array([1 << 40], np.int64))]), (4 << 40,)),
    "range_2e40": (_model([helper.make_node("Range", ["a", "b", "d"], ["r"]), helper.make_node("Cast", ["r"], ["c"], to=1),
                           helper.make_node("Reshape", ["c", "rows"], ["m"]), helper.make_node("Add", ["m", "x"], ["y"])],
                          [("a", np.array(0, np.int64)), ("b", np.array(1 << 40, np.int64)), ("d", np.array(1, np.int64)),
                           ("rows", np.array([1 << 38, 4], np.int64))]),
                   (1 << 38, 4)),
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_huge_result_converts_and_runs_on_meta_without_allocating_it(name):
    model, shape = HOSTILE[name]
    before = _rss_mib()
    started = time.monotonic()
    gm = ow.convert(model)
    out = ow.meta_forward(gm, torch.empty(4, device="meta"))
    assert out.device.type == "meta" and tuple(out.shape) == shape
    assert time.monotonic() - started < 30 and _rss_mib() - before < 512, "it allocated or ran what it should not"


@pytest.mark.parametrize("name", list(HOSTILE))
def test_inspect_reports_a_huge_graph_with_its_figures(name, tmp_path, cli):
    model, shape = HOSTILE[name]
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    report = ow.inspect(path)
    assert report.analysis.activation_bytes >= 4 * int(np.prod(shape, dtype=object))
    # The CLI too: ONNX's data propagation would compute a Range of 2^40 elements one by one.
    done = subprocess.run([cli, "inspect", "--json", str(path)], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout)["analysis"]["activations"]["bytes"] >= 4 * int(np.prod(shape, dtype=object))


def test_a_loop_of_2_62_iterations_is_refused_with_a_limit_error(tmp_path):
    gm = ow.convert(_loop(1 << 62))
    with pytest.raises(ow.LimitError, match=r"node 'loop': a Loop of 4611686018427387904 iterations, more than the 65536"):
        ow.meta_forward(gm, torch.empty(4, device="meta"))
    path = tmp_path / "loop.onnx"
    onnx.save(_loop(1 << 62), path)
    started = time.monotonic()
    report = ow.inspect(path)  # its meta-run fallback meets the same limit, and inspect reports what it has
    assert time.monotonic() - started < 30 and "trips(loop)" in str(report.analysis.flops)
    # A loop of a few iterations still runs, and adds one each time.
    assert ow.meta_forward(ow.convert(_loop(3)), torch.zeros(4)).shape == (4,)
    assert torch.equal(ow.convert(_loop(3), with_weights=True)(torch.zeros(4)), torch.full((4,), 3.0))


def _while_true() -> onnx.ModelProto:
    """A Loop with neither trip count nor condition, whose body never says stop: it runs forever."""
    model = _loop(1)
    loop = model.graph.node[0]
    loop.input[0] = ""
    return model


@pytest.mark.parametrize("model", [_loop(60_000), _while_true()], ids=["60000_trips", "while_true"])
def test_a_loop_under_the_iteration_limit_is_refused_once_its_body_nodes_run_past_the_budget(model, tmp_path):
    # Found by the pipeline fuzzer: a tf2onnx while loop whose condition was cut ran 65,536 times
    # at every size inspect's meta run tried, minutes in all.
    from onnx_weightless._meta_forward import MAX_BODY_NODE_RUNS

    gm = ow.convert(model)
    started = time.monotonic()
    with pytest.raises(ow.LimitError, match=rf"node 'loop': after \d+ runs of its body, the loops of this meta run have run more "
                                            rf"than {MAX_BODY_NODE_RUNS} body nodes"):
        ow.meta_forward(gm, torch.empty(4, device="meta"))
    assert time.monotonic() - started < 30
    path = tmp_path / "loop.onnx"
    onnx.save(model, path)
    started = time.monotonic()
    ow.inspect(path)  # its meta-run fallback shares one budget across the sizes it tries
    assert time.monotonic() - started < 30


def test_recursive_and_deeply_nested_functions_are_reported_not_followed(tmp_path):
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)]
    recursive = helper.make_function("acme", "f", ["x"], ["y"], [helper.make_node("f", ["x"], ["y"], domain="acme")], opsets)
    chain = [helper.make_function("acme", f"g{i}", ["x"], ["y"],
                                  [helper.make_node(f"g{i + 1}", ["x"], ["y"], domain="acme")] if i < 499 else
                                  [helper.make_node("Relu", ["x"], ["y"])], opsets) for i in range(500)]
    for name, functions, call in (("recursive", [recursive], "f"), ("deep", chain, "g0")):
        graph = helper.make_graph([helper.make_node(call, ["x"], ["y"], domain="acme", name="call")], name, [X], [Y])
        path = tmp_path / f"{name}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=opsets, functions=functions), path)
        report = ow.inspect(path)  # neither inlined nor inferred through: the call is left uncosted
        assert [node.name for node in report.analysis.uncosted] == ["call"]
        with pytest.raises(ow.FormatError, match="calls itself|more than 100 deep"):
            ow.convert(path)
