"""The public surface is exactly __all__; everything else is private."""

import onnx_weightless as ow

PUBLIC = {
    "ConversionError", "DEFAULT_SIZE_THRESHOLD", "ExportError", "ExternalDataError", "FixedDimensionWarning", "FormatError", "LimitError", "MissingWeightsError",
    "ModelReadError", "ModelReport", "OpaqueOp", "TENSORS_NOT_HELD", "UnsupportedDtypeError", "UnsupportedOperatorError", "ValueNeededError", "ValueShape", "WeightlessError",
    "convert", "export", "inspect", "load", "materialize", "meta_forward", "propagate_shapes", "register_converter", "scan", "strip", "torch_dtype",
    "weightless_onnx_loader",
}


def test_public_names():
    assert set(ow.__all__) == PUBLIC
    assert all(hasattr(ow, name) for name in PUBLIC)


def test_error_hierarchy():
    for name in ("FormatError", "ModelReadError", "ExternalDataError", "MissingWeightsError", "UnsupportedDtypeError",
                 "UnsupportedOperatorError", "ConversionError", "ValueNeededError", "ExportError"):
        assert issubclass(getattr(ow, name), ow.WeightlessError)
    assert issubclass(ow.LimitError, ow.FormatError)
    assert issubclass(ow.UnsupportedOperatorError, NotImplementedError)
    assert issubclass(ow.FixedDimensionWarning, UserWarning)
