"""Writes tests/wild/torchscript-old-opsets/: tiny architectures exported by PyTorch's TorchScript
exporter at the opsets of older exports (9, 11, 13), as model-zoo files were made.

    python scripts/make_wild_old_opsets.py      # or: make wild-corpus

The models are the test fixtures' (tests/fixtures/architectures.py: transformers configs with
random weights, seeded); torch and transformers come from the main lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.architectures import export  # noqa: E402

OUT = REPO / "tests" / "wild" / "torchscript-old-opsets"
# (architecture, opsets): those the TorchScript exporter can write (scaled_dot_product_attention
# needs 14, so the attention models of the fixtures are left out; DETR's CumSum needs 11).
EXPORTS = (("convnext", (9, 11, 13)), ("t5", (9, 13)), ("detr", (11, 13)))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, opsets in EXPORTS:
        for opset in opsets:
            model = export(name, opset)
            onnx.checker.check_model(model)
            path = OUT / f"{name}-opset{opset}.onnx"
            path.write_bytes(model.SerializeToString(deterministic=True))
            print(f"{path.relative_to(REPO)}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
