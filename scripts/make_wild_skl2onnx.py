"""Regenerates tests/wild/skl2onnx/: small scikit-learn models exported by skl2onnx, the
ai.onnx.ml operators (TreeEnsemble*, LinearClassifier/Regressor, Scaler, Normalizer, Imputer,
OneHotEncoder, LabelEncoder, Binarizer, ArrayFeatureExtractor, FeatureVectorizer) as
scikit-learn users' files hold them.

Run with the interpreter of the environment locked in requirements/lock-wild-skl2onnx.txt
(`make wild-corpus` creates it in .cache/wild-skl2onnx-venv and runs this script). Each model is
fitted on seeded data and converted by ``skl2onnx.convert_sklearn`` (classifiers without ZipMap,
so that every output is a tensor); before a file is written, onnxruntime runs it on the training
data and must give scikit-learn's own predictions. The files are written as skl2onnx returns them.

Usage: python scripts/make_wild_skl2onnx.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wild_corpus import arguments, finish

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "wild" / "skl2onnx"
SEED = 20240801
SIZE_LIMIT = 2 * 1024 * 1024
# Pinned so that a new skl2onnx default does not change the files silently; skl2onnx imports the
# lowest ai.onnx.ml version the model's operators need, up to this one.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
FEATURES = 4


@dataclass
class Case:
    name: str
    model: Any  # fitted
    inputs: list  # skl2onnx initial_types
    data: list[np.ndarray]  # one array per input, to check the file on
    expected: Callable[[Any, list[np.ndarray]], list[np.ndarray]]  # scikit-learn's outputs
    options: dict | None = None


def _data(rng: np.random.Generator):
    from sklearn.datasets import make_classification, make_regression

    seed = int(rng.integers(2**31))
    x, y3 = make_classification(60, FEATURES, n_informative=3, n_redundant=0, n_classes=3, random_state=seed)
    x = x.astype(np.float32)
    y2 = (y3 > 0).astype(np.int64)
    xr, yr = make_regression(60, FEATURES, n_targets=2, noise=0.1, random_state=seed)
    return x, y3.astype(np.int64), y2, xr.astype(np.float32), yr


def _cases() -> list[Case]:
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor, IsolationForest,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (Binarizer, KBinsDiscretizer, LabelEncoder, Normalizer, OneHotEncoder,
                                       StandardScaler)
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.default_rng(SEED)
    x, y3, y2, xr, yr = _data(rng)
    floats = [("X", FloatTensorType([None, FEATURES]))]
    no_zipmap = {"zipmap": False}

    def label_and_proba(model, data):
        return [model.predict(data[0]), model.predict_proba(data[0])]

    def label_and_decision(model, data):
        scores = model.decision_function(data[0])
        return [model.predict(data[0]), scores.reshape(len(data[0]), -1)]  # binary: the positive class's only

    def predict(model, data):
        prediction = model.predict(data[0])
        return [prediction.reshape(len(data[0]), -1)]

    def transform(model, data):
        return [model.transform(np.concatenate(data, axis=1) if len(data) > 1 else data[0])]

    def fit(model, *arguments):
        return model.fit(*arguments)

    logistic = LogisticRegression(max_iter=500)
    cases = [
        Case("scaler_logistic_regression", fit(make_pipeline(StandardScaler(), logistic), x, y3), floats, [x],
             label_and_proba, {id(logistic): no_zipmap}),
        Case("logistic_regression_binary", fit(LogisticRegression(), x, y2), floats, [x], label_and_proba,
             {LogisticRegression: no_zipmap}),
        Case("linear_svc", fit(LinearSVC(), x, y3), floats, [x], label_and_decision),
        Case("linear_svc_binary", fit(LinearSVC(), x, y2), floats, [x], label_and_decision),
        Case("linear_regression", fit(LinearRegression(), xr, yr[:, 0]), floats, [xr], predict),
        Case("decision_tree_classifier", fit(DecisionTreeClassifier(max_depth=4, random_state=0), x, y3), floats, [x],
             label_and_proba, {DecisionTreeClassifier: no_zipmap}),
        Case("decision_tree_regressor", fit(DecisionTreeRegressor(max_depth=4, random_state=0), xr, yr[:, 0]), floats,
             [xr], predict),
        Case("random_forest_classifier_binary", fit(RandomForestClassifier(5, max_depth=3, random_state=0), x, y2),
             floats, [x], label_and_proba, {RandomForestClassifier: no_zipmap}),
        Case("random_forest_regressor_two_targets", fit(RandomForestRegressor(5, max_depth=3, random_state=0), xr, yr),
             floats, [xr], predict),
        Case("gradient_boosting_classifier", fit(GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0),
                                                 x, y3), floats, [x], label_and_proba,
             {GradientBoostingClassifier: no_zipmap}),
        Case("gradient_boosting_classifier_binary",
             fit(GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0), x, y2), floats, [x],
             label_and_proba, {GradientBoostingClassifier: no_zipmap}),
        Case("gradient_boosting_regressor", fit(GradientBoostingRegressor(n_estimators=5, max_depth=2, random_state=0),
                                                xr, yr[:, 0]), floats, [xr], predict),
        # TreeEnsembleRegressor at ai.onnx.ml 3, a numeric LabelEncoder and plain ONNX around them.
        Case("isolation_forest", fit(IsolationForest(n_estimators=3, max_samples=16, random_state=0), x), floats, [x],
             lambda model, data: [model.predict(data[0]), model.decision_function(data[0]).reshape(-1, 1)]),
        Case("normalizer", fit(Normalizer(), x), floats, [x], transform),
        Case("binarizer", fit(Binarizer(threshold=0.25), x), floats, [x], transform),
        Case("knn_regressor", fit(KNeighborsRegressor(3), xr[:30], yr[:30, 0]), floats, [xr], predict),
        Case("kbins_discretizer", fit(KBinsDiscretizer(3, encode="ordinal", quantile_method="averaged_inverted_cdf"), x),
             floats, [x], transform),
    ]

    with_gaps = x.copy()
    with_gaps[rng.random(x.shape) < 0.15] = np.nan
    cases.append(Case("simple_imputer", fit(SimpleImputer(), with_gaps), floats, [with_gaps], transform))

    # Integer categories within the range the corpus sweep feeds (0-49); those never seen encode
    # as zeros.
    codes = rng.integers(0, 50, (40, 3)).astype(np.int64)
    cases.append(Case("one_hot_encoder", fit(OneHotEncoder(handle_unknown="ignore", sparse_output=False), codes),
                      [("X", Int64TensorType([None, 3]))], [codes], transform))
    labels = np.arange(0, 50, 2, dtype=np.int64).repeat(2)
    cases.append(Case("label_encoder", fit(LabelEncoder(), labels), [("X", Int64TensorType([None]))], [labels],
                      lambda model, data: [model.transform(data[0])]))
    # Two inputs into one scaler: skl2onnx joins them with a FeatureVectorizer.
    halves = [x[:, :2].copy(), x[:, 2:].copy()]
    cases.append(Case("scaler_two_inputs", fit(StandardScaler(), x),
                      [("A", FloatTensorType([None, 2])), ("B", FloatTensorType([None, 2]))], halves, transform))
    return cases


def _check(case: Case, model) -> None:
    """onnxruntime on the file gives scikit-learn's outputs."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {value.name: array for value, array in zip(session.get_inputs(), case.data)}
    got = session.run(None, feeds)
    expected = case.expected(case.model, case.data)
    if len(got) != len(expected):
        raise RuntimeError(f"{len(got)} outputs, scikit-learn gives {len(expected)}")
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        theirs = np.asarray(theirs).reshape(np.shape(ours))
        if not np.allclose(ours.astype(np.float64), theirs.astype(np.float64), atol=1e-4, rtol=1e-4, equal_nan=True):
            worst = float(np.nanmax(np.abs(ours.astype(np.float64) - theirs.astype(np.float64))))
            raise RuntimeError(f"output {index} differs from scikit-learn's by up to {worst:.3g}")


def main() -> int:
    args = arguments(__doc__, DEFAULT_OUT)
    # skl2onnx lists the opset imports by walking a Python set of domain names, whose order follows
    # the string hash seed: fix the seed, or the files differ from run to run. It can only be set
    # before the interpreter starts, so start again.
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], env)

    import onnx
    import skl2onnx
    import sklearn
    from skl2onnx import convert_sklearn

    print(f"skl2onnx {skl2onnx.__version__}, scikit-learn {sklearn.__version__}, onnx {onnx.__version__}")
    args.out.mkdir(parents=True, exist_ok=True)
    written, failures = [], []
    for case in _cases():
        if args.only and case.name not in args.only:
            continue
        try:
            model = convert_sklearn(case.model, case.name, case.inputs, target_opset=TARGET_OPSET,
                                    options=case.options)
            _check(case, model)
        except Exception as err:  # noqa: BLE001 - report every model, then fail
            print(f"FAILED {case.name}: {type(err).__name__}: {err}", file=sys.stderr)
            failures.append(case.name)
            continue
        path = args.out / f"{case.name}.onnx"
        path.write_bytes(model.SerializeToString(deterministic=True))
        written.append(path)
        operators = sorted({f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in model.graph.node})
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"wrote {shown}  {path.stat().st_size:,} bytes  {', '.join(operators)}")
    return finish(args.out, written, failures, SIZE_LIMIT, "converter")


if __name__ == "__main__":
    sys.exit(main())
