"""inspect(): weights counted from the scan, MACs/FLOPs and activation memory from the C++
analysis over ONNX-inferred shapes, checked against published figures and independent counts."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import onnx
import pytest
import torch
import torchvision
import transformers
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.fixtures.architectures import ARCHITECTURES, OPSETS, build
from tests.wild_sweep import FILES as WILD_FILES
from tests.wild_sweep import WILD


def _export(model: torch.nn.Module, inputs: tuple, path, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(model.eval(), inputs, str(path), dynamo=False, opset_version=17, **kwargs)


class _BertHidden(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bert = transformers.BertModel(transformers.BertConfig())  # BERT-base: 12 x 768, 3072, 12 heads

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=input_ids)
        return out.last_hidden_state, out.pooler_output


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory):
    path = tmp_path_factory.mktemp("resnet50") / "resnet50.onnx"
    torch.manual_seed(0)
    _export(torchvision.models.resnet50(), (torch.randn(1, 3, 224, 224),), path)
    return path


@pytest.fixture(scope="module")
def bert_base(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert") / "bert-base.onnx"
    torch.manual_seed(0)
    _export(_BertHidden(), (torch.zeros(1, 128, dtype=torch.long),), path, input_names=["input_ids"])
    return path


def _onnx_tensor_elements(path) -> int:
    """Elements of every initializer and Constant tensor, counted by onnx itself."""
    model = onnx.load(str(path), load_external_data=False)
    count = sum(numpy_helper.to_array(t).size for t in model.graph.initializer)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                count += numpy_helper.to_array(attribute.t).size
    return count


def test_resnet50_macs_match_the_published_figure(resnet50):
    report = ow.inspect(resnet50)
    # torchvision's ResNet50_Weights.IMAGENET1K_V1 meta: 4.09 GFLOPS (multiply-accumulates) at 224x224.
    assert report.analysis.macs == pytest.approx(4.09e9, rel=0.01)
    assert report.analysis.unknown_nodes == 0
    assert report.parameters == _onnx_tensor_elements(resnet50)
    convs = report.analysis.by_op["Conv"]
    assert convs.nodes == 53 and convs.macs > 0.99 * report.analysis.macs
    assert report.shapes_from == "onnx"
    # The index is the original file's (embedded weights stay "inline"), from the skeleton's own scan.
    assert set(report.totals.by_storage) == set(ow.scan(resnet50).totals.by_storage) == {"inline"}


def test_bert_base_macs_match_the_published_figure(bert_base):
    report = ow.inspect(bert_base)
    # BERT-base at sequence 128: 11.2G multiply-accumulates (22.5 GFLOPs in the literature). By
    # hand: 12 layers x 128 x 768 x (12 x 768 + 2 x 128) plus the 768x768 pooler = 11.174G.
    assert report.analysis.macs == pytest.approx(11.2e9, rel=0.01)
    assert report.analysis.macs == 12 * 128 * 768 * (12 * 768 + 2 * 128) + 768 * 768
    assert report.parameters == _onnx_tensor_elements(bert_base)
    # ONNX shape inference loses this export's batch dimension; the converted module's meta run fills it.
    assert report.shapes_from == "onnx+torch"
    assert report.analysis.unknown_nodes == 0


def test_llama_8b_macs_match_the_hand_count(cli):
    # Llama-3-8B at batch 1, sequence 128 (the bundled skeleton): per layer, the q/o projections
    # (4096x4096), k/v (4096x1024, 8 KV heads of 128), the MLP (3 x 4096x14336) per token, and the
    # attention's Q·Kᵀ and weighting of V (32 heads x 128² positions x 128 each); then lm_head.
    layers, hidden, intermediate, heads, head_dim, kv_width, vocab, seq = 32, 4096, 14336, 32, 128, 1024, 128256, 128
    per_token = hidden * hidden * 2 + hidden * kv_width * 2 + 3 * hidden * intermediate
    attention = heads * seq * seq * head_dim * 2
    expected = layers * (seq * per_token + attention) + seq * hidden * vocab
    model = Path(__file__).resolve().parents[1] / "models" / "llama3-8b.onnx"
    assert ow.inspect(model).analysis.macs == expected == 964_891_246_592
    assert _cli_inspect(cli, model, {})["analysis"]["macs"] == expected


def test_parameters_match_the_converted_module_when_nothing_is_shared(tmp_path):
    """Each tensor becomes one torch tensor of the conversion (no initializer here feeds two layers)."""
    gm = ow.convert(_attention_free_model(tmp_path))
    report = ow.inspect(tmp_path / "mlp.onnx")
    assert report.parameters == sum(t.numel() for t in gm.state_dict().values())


def _attention_free_model(tmp_path):
    w1 = numpy_helper.from_array(torch.randn(16, 32).numpy(), "w1")
    b1 = numpy_helper.from_array(torch.randn(32).numpy(), "b1")
    w2 = numpy_helper.from_array(torch.randn(32, 4).numpy(), "w2")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Add", ["h", "b1"], ["hb"]),
            helper.make_node("Relu", ["hb"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [w1, b1, w2],
    )
    path = tmp_path / "mlp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_symbolic_dimensions_are_sized_by_dims(tmp_path):
    path = _attention_free_model(tmp_path)
    unsized = ow.inspect(path)
    # Left unsized, batch stays a symbol: exact polynomials, which sized give the bound figures.
    assert str(unsized.analysis.macs) == "640*batch" and unsized.analysis.symbols == {"batch"}
    assert unsized.analysis.complete and unsized.analysis.unknown_nodes == 0 and unsized.analysis.uncosted == []
    report = ow.inspect(path, {"batch": 8})
    for figure in ("macs", "flops", "activation_bytes", "peak_activation_bytes"):
        assert getattr(unsized.analysis, figure).evaluate({"batch": 8}) == getattr(report.analysis, figure), figure
    assert isinstance(report.analysis.macs, int) and report.analysis.symbols == set()
    assert report.analysis.macs == 8 * 16 * 32 + 8 * 32 * 4
    assert report.analysis.flops == 2 * report.analysis.macs + 2 * 8 * 32  # Add and Relu: 1 per element
    assert report.analysis.unknown_nodes == 0
    # Nodes run in order, each value freed after its last reader: at most two [8, 32] values alive.
    assert report.analysis.peak_activation_bytes == 2 * 8 * 32 * 4
    assert [v.name for v in report.analysis.largest_activations] == ["h", "hb", "r", "y"]
    with pytest.raises(ValueError, match="non-negative"):
        ow.inspect(path, {"batch": -1})


@pytest.mark.cli_parity
def test_cli_reports_the_same_analysis(resnet50, cli):
    """The CLI infers the shapes the file leaves out (the TorchScript exporter declares only the
    inputs' and outputs'), as Python's inspect does, and reports the published figure."""
    data = _cli_inspect(cli, resnet50, {})
    report = ow.inspect(resnet50)
    assert data["analysis"]["macs"] == report.analysis.macs == pytest.approx(4.09e9, rel=0.01)
    assert data["analysis"]["flops"] == report.analysis.flops
    assert data["analysis"]["activations"]["peak_bytes"] == report.analysis.peak_activation_bytes
    assert data["largest_weights"][0]["dims"] == [512, 512, 3, 3]
    assert data["tensors"]["elements"] == report.parameters


def test_cli_sizes_symbols_with_dim(tmp_path, cli):
    path = tmp_path / "inferred.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(onnx.load(str(_attention_free_model(tmp_path)))), path)

    def run(*args):
        out = subprocess.run([cli, "inspect", "--json", *args, str(path)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["analysis"]

    unsized = run()
    assert unsized["macs"] == "640*batch" and unsized["symbols"] == ["batch"]
    assert unsized["complete"] and unsized["unknown_nodes"] == 0 and unsized["uncosted"] == []
    sized = run("--dim", "batch=8")
    assert sized["dims"] == {"batch": 8} and sized["unknown_nodes"] == 0
    assert sized["macs"] == ow.inspect(path, {"batch": 8}).analysis.macs == 8 * 16 * 32 + 8 * 32 * 4
    bad = subprocess.run([cli, "inspect", "--dim", "batch", str(path)], capture_output=True, text=True)
    assert bad.returncode == 1 and "--dim expects NAME=SIZE" in bad.stderr


#: Operators whose cost is multiply-accumulates: a model holding one costs more than 0 MACs.
_MAC_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose", "Attention", "MultiHeadAttention", "MatMulNBits",
            "QLinearMatMul", "QLinearConv", "MatMulInteger", "FusedMatMul", "GroupQueryAttention"}


@pytest.mark.parametrize("path", WILD_FILES, ids=lambda p: p.relative_to(WILD).as_posix())
def test_a_figure_never_leaves_a_node_out_without_saying_so(path):
    # No sizes given: the figures are polynomials in the inputs' symbols, not 0 for want of a size.
    model = onnx.load(str(path), load_external_data=False)
    analysis = ow.inspect(path).analysis
    if {node.op_type for node in _all_nodes(model.graph)} & _MAC_OPS:
        assert analysis.macs != 0, [node.reason for node in analysis.uncosted]
    assert analysis.complete == (not analysis.uncosted and not analysis.unsized_activations)
    # A node without subgraphs that is not costed counts 0; one with them, what could be costed.
    assert all(node.reason and not node.known and (node.macs == 0 or node.subgraphs) for node in analysis.uncosted)
    # The symbols are the inputs', and the trip counts of loops whose count is not known.
    bodies = {f"trips({node.name})" for node in _all_nodes(model.graph) if node.op_type in ("Loop", "Scan", "SequenceMap")}
    assert analysis.symbols <= _declared_symbols(model) | bodies


def _all_nodes(graph: onnx.GraphProto):
    """The graph's nodes and those of its subgraphs, at any depth."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
                yield from _all_nodes(subgraph)


def _declared_symbols(model: onnx.ModelProto) -> set[str]:
    """The inputs' symbols, an unnamed dimension named ``<input>_<axis>``."""
    return {d.dim_param or f"{value.name}_{axis}" for value in model.graph.input
            for axis, d in enumerate(value.type.tensor_type.shape.dim) if not d.HasField("dim_value")}


@pytest.mark.parametrize("name", ["llama", "bert", "resnet18"])
def test_symbolic_figures_are_the_bound_ones_once_sized(name):
    path = build(name, "default", "embedded", dynamic=True).path
    unsized = ow.inspect(path).analysis
    assert unsized.complete and unsized.symbols and not isinstance(unsized.macs, int)
    symbols = sorted(unsized.symbols)
    for sizes in ((1, 8, 4), (2, 16, 3), (3, 5, 7)):
        dims = dict(zip(symbols, sizes))
        bound = ow.inspect(path, dims).analysis
        assert bound.symbols == set() and bound.complete
        for figure in ("macs", "flops", "activation_bytes", "peak_activation_bytes", "weight_derived_bytes"):
            value = getattr(unsized, figure)  # an int where no symbol is in it
            assert (value if isinstance(value, int) else value.evaluate(dims)) == getattr(bound, figure), (figure, dims)


def _matmuls(name: str, weights: list[str]) -> onnx.GraphProto:
    """A subgraph multiplying x, read from outside it, by each of the weights in turn."""
    nodes, value = [], "x"
    for i, weight in enumerate(weights):
        nodes.append(helper.make_node("MatMul", [value, weight], [f"{name}_{i}"]))
        value = f"{name}_{i}"
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(value, TensorProto.FLOAT, None)])


def test_subgraphs_count_an_if_by_its_costliest_branch_and_a_loop_by_its_count(tmp_path):
    # x[n, 16]; then: x @ a[16, 32] (512n MACs); else: x @ b[16, 8] @ d[8, 32] (384n); a Loop of
    # 5 iterations carrying h[n, 16] through h @ s[16, 16] (256n each).
    loop_body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]), helper.make_node("MatMul", ["h", "s"], ["h_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("h_out", TensorProto.FLOAT, None)],
    )
    weights = {"a": (16, 32), "b": (16, 8), "d": (8, 32), "s": (16, 16)}
    graph = helper.make_graph(
        [
            helper.make_node("If", ["c"], ["y"], then_branch=_matmuls("then", ["a"]), else_branch=_matmuls("else", ["b", "d"])),
            helper.make_node("Constant", [], ["count"], value=numpy_helper.from_array(torch.tensor(5).numpy())),
            helper.make_node("Loop", ["count", "", "x"], ["h_final"], body=loop_body),
        ],
        "subgraphs",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None), helper.make_tensor_value_info("h_final", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(torch.randn(*shape).numpy(), name) for name, shape in weights.items()],
    )
    path = tmp_path / "subgraphs.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    analysis = ow.inspect(path).analysis
    assert analysis.complete, ([node.reason for node in analysis.uncosted], analysis.unsized_activations)
    if_cost, _, loop_cost = analysis.nodes
    assert {part.attribute: str(part.macs) for part in if_cost.subgraphs} == {"then_branch": "512*n", "else_branch": "384*n"}
    assert str(if_cost.macs) == "512*n"
    assert [(part.attribute, part.iterations, str(part.macs)) for part in loop_cost.subgraphs] == [("body", 5, "1280*n")]
    assert str(analysis.macs) == "1792*n"
    assert ow.inspect(path, {"n": 3}).analysis.macs == 3 * (16 * 32 + 5 * 16 * 16)
    # By op type: every branch's nodes; the MACs of the branch where MatMul costs most.
    assert analysis.by_op["MatMul"].nodes == 4 and str(analysis.by_op["MatMul"].macs) == "1792*n"


def test_each_call_of_a_local_function_is_costed_with_its_own_shapes(tmp_path):
    # project(x, w) = x @ w, called on x[n, 16] @ a[16, 32], then on its result @ b[32, 8].
    function = helper.make_function("acme", "project", ["x", "w"], ["y"], [helper.make_node("MatMul", ["x", "w"], ["y"])],
                                    [helper.make_opsetid("", 17)])
    graph = helper.make_graph(
        [helper.make_node("project", ["x", "a"], ["h"], domain="acme"), helper.make_node("project", ["h", "b"], ["y"], domain="acme")],
        "calls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(torch.randn(16, 32).numpy(), "a"), numpy_helper.from_array(torch.randn(32, 8).numpy(), "b")],
    )
    path = tmp_path / "calls.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)], functions=[function])
    onnx.save(model, path)
    analysis = ow.inspect(path).analysis
    assert analysis.complete and str(analysis.macs) == f"{16 * 32 + 32 * 8}*n"


def _figure(value) -> int | str:
    """A figure as the CLI's JSON writes it: the number, or the polynomial's text."""
    return value if isinstance(value, int) else str(value)


def _cli_inspect(cli: str, path, dims: dict[str, int]) -> dict:
    args = [arg for name, size in dims.items() for arg in ("--dim", f"{name}={size}")]
    out = subprocess.run([cli, "inspect", "--json", *args, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _assert_cli_agrees(cli: str, path, dims: dict[str, int]) -> None:
    report = ow.inspect(path, dims)
    data = _cli_inspect(cli, path, dims)
    assert data["shapes"]["from"] == "onnx", data["shapes"]["error"]
    assert data["shapes"]["inference"] == onnx.__version__
    a, c = report.analysis, data["analysis"]
    assert {op: cost["nodes"] for op, cost in c["by_op"].items()} == {op: cost.nodes for op, cost in a.by_op.items()}
    if report.shapes_from == "onnx+torch":
        # The meta run sized what ONNX inference could not, which the CLI has no torch for: it
        # costs no node Python does not, and leaves uncosted at least those Python does.
        assert {n["name"] for n in c["uncosted"]} >= {n.name for n in a.uncosted}
        return
    assert c["complete"] == a.complete and c["unknown_nodes"] == a.unknown_nodes
    assert set(c["symbols"]) == a.symbols
    assert (c["macs"], c["flops"]) == (_figure(a.macs), _figure(a.flops))
    activations = c["activations"]
    assert (activations["bytes"], activations["peak_bytes"]) == (_figure(a.activation_bytes), _figure(a.peak_activation_bytes))
    assert activations["unsized"] == a.unsized_activations
    assert {op: (cost["macs"], cost["flops"]) for op, cost in c["by_op"].items()} == {
        op: (_figure(cost.macs), _figure(cost.flops)) for op, cost in a.by_op.items()}
    assert [v["name"] for v in c["largest_activations"]] == [v.name for v in a.largest_activations]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_no_architecture_fixture_costs_0_macs(name, opset):
    analysis = ow.inspect(build(name, opset, "embedded").path).analysis
    assert analysis.macs != 0, [node.reason for node in analysis.uncosted]


@pytest.mark.cli_parity
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_cli_and_python_agree_on_every_architecture_fixture(name, opset, cli):
    path = build(name, opset, "embedded").path
    _assert_cli_agrees(cli, path, {})


@pytest.mark.cli_parity
@pytest.mark.parametrize("name", ["llama", "bert", "resnet18"])
def test_cli_and_python_agree_with_symbols_sized_or_not(name, cli):
    path = build(name, "default", "embedded", dynamic=True).path
    _assert_cli_agrees(cli, path, {})
    symbols = sorted(ow.inspect(path).analysis.symbols)
    _assert_cli_agrees(cli, path, dict(zip(symbols, (2, 16, 3))))


@pytest.mark.cli_parity
@pytest.mark.parametrize("path", WILD_FILES, ids=lambda p: p.relative_to(WILD).as_posix())
def test_cli_and_python_agree_on_the_wild_corpus(path, cli):
    _assert_cli_agrees(cli, path, {})


def _loop_model(path, body_nodes: list[onnx.NodeProto], carried_out: str) -> None:
    """A Loop of 5 iterations carrying h[n, 16], its body declaring h without a shape."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]), *body_nodes],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info(carried_out, TensorProto.FLOAT, None)],
    )
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["count"], value=numpy_helper.from_array(torch.tensor(5).numpy())),
         helper.make_node("Loop", ["count", "", "x"], ["h_final"], body=body)],
        "loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("h_final", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(torch.randn(16, 16).numpy(), "s")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.cli_parity
def test_a_loop_body_takes_the_shape_its_carried_value_starts_with(tmp_path, cli):
    # h @ s keeps h's shape, so the body's h is [n, 16] at every iteration: 256n MACs each.
    path = tmp_path / "carried.onnx"
    _loop_model(path, [helper.make_node("MatMul", ["h", "s"], ["h_out"])], "h_out")
    analysis = ow.inspect(path).analysis
    assert analysis.complete and str(analysis.macs) == "1280*n"
    assert _cli_inspect(cli, path, {})["analysis"]["macs"] == "1280*n"
    # A body that grows h ([n, 16] then [n, 32]...) has no one shape: its MatMul stays uncosted.
    grows = tmp_path / "grows.onnx"
    _loop_model(grows, [helper.make_node("Concat", ["h", "h"], ["h_out"], axis=1),
                        helper.make_node("MatMul", ["h", "s"], ["unused"])], "h_out")
    analysis = ow.inspect(grows).analysis
    assert not analysis.complete and "in body" in analysis.uncosted[0].reason
