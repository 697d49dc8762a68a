"""The public surface is exactly __all__; everything else is private."""

import onnx_weightless as ow

PUBLIC = {
    "ConversionError", "DEFAULT_SIZE_THRESHOLD", "ExportError", "ExternalDataError", "FixedDimensionWarning", "FormatError", "LimitError", "MetaForwardError",
    "MissingWeightsError", "ModelReadError", "ModelReport", "OpaqueOp", "TENSORS_NOT_HELD", "UnsupportedDtypeError", "UnsupportedOperatorError", "ValueNeededError", "ValueShape", "WeightlessError",
    "convert", "diff", "export", "inspect", "load", "materialize", "meta_forward", "propagate_shapes", "register_converter", "scan", "strip", "torch_dtype",
    "weightless_onnx_loader",
}


def test_public_names():
    assert set(ow.__all__) == PUBLIC
    assert all(hasattr(ow, name) for name in PUBLIC)


def test_error_hierarchy():
    for name in ("FormatError", "ModelReadError", "ExternalDataError", "MissingWeightsError", "UnsupportedDtypeError",
                 "UnsupportedOperatorError", "ConversionError", "ValueNeededError", "MetaForwardError", "ExportError"):
        assert issubclass(getattr(ow, name), ow.WeightlessError)
    assert issubclass(ow.LimitError, ow.FormatError)
    assert issubclass(ow.UnsupportedOperatorError, NotImplementedError)
    assert issubclass(ow.FixedDimensionWarning, UserWarning)


def test_analysis_never_imports_torch(tmp_path):
    # scan, load, strip, inspect and diff of models whose shapes ONNX infers: as light as `import onnx`.
    # A fresh interpreter, since this one has long imported torch.
    import subprocess
    import sys

    from conftest import REPO

    model = REPO / "models" / "llama3-8b.onnx"
    script = f"""
import sys
import onnx_weightless as ow
ow.scan({str(model)!r}); ow.load({str(model)!r})
ow.strip({str(model)!r}, {str(tmp_path / "skeleton.onnx")!r})
report = ow.inspect({str(model)!r}, {{"batch": 1, "sequence": 128}})
assert report.analysis.macs > 0 and report.shapes_from == "onnx", report.shapes_from
assert ow.diff({str(model)!r}, {str(tmp_path / "skeleton.onnx")!r}).identical
assert "torch" not in sys.modules and "onnx2torch" not in sys.modules, "imported torch"
from onnx_weightless import convert  # a name that needs torch imports it when asked for
assert "torch" in sys.modules and convert is ow.convert
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
