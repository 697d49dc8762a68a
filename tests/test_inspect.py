"""inspect(): weights counted from the scan, MACs/FLOPs and activation memory from the C++
analysis over ONNX-inferred shapes, checked against published figures and independent counts."""

from __future__ import annotations

import json
import subprocess
import warnings

import onnx
import pytest
import torch
import torchvision
import transformers
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.fixtures.architectures import build
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


def test_cli_reports_the_same_analysis(resnet50, cli):
    """The CLI reads the shapes the file declares; given the file with ONNX-inferred shapes, it agrees."""
    inferred = resnet50.parent / "inferred.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(onnx.load(str(resnet50)), data_prop=True), inferred)
    out = subprocess.run([cli, "inspect", "--json", str(inferred)], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    report = ow.inspect(resnet50)
    assert data["analysis"]["macs"] == report.analysis.macs
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
    if {node.op_type for node in model.graph.node} & _MAC_OPS and analysis.macs == 0:
        assert not analysis.complete and analysis.uncosted, "0 MACs, and nothing says why"
    assert analysis.complete == (not analysis.uncosted and not analysis.unsized_activations)
    assert all(node.reason and not node.known and node.macs == 0 for node in analysis.uncosted)
    assert analysis.symbols <= {s for s in _declared_symbols(model)}


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
