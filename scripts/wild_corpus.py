"""What the scripts writing tests/wild/ share (scripts/make_wild_genai.py, make_wild_optimum.py):
the tokenizer their Hugging Face folders need, their command line, and their closing report.
Standard library only, but for ``tokenizers`` in write_tokenizer: each script runs in its tool's
own environment."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["arguments", "check_against", "finish", "per_interpreter", "write_model", "write_tokenizer"]


def write_tokenizer(folder: Path, vocab_size: int, max_length: int = 128) -> None:
    """A word-level tokenizer whose vocabulary has exactly vocab_size entries."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    special = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(special)}
    for i in range(len(special), vocab_size):
        vocab[f"w{i}"] = i
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "model_max_length": max_length,
        "clean_up_tokenization_spaces": False,
    }, indent=2) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
    }, indent=2) + "\n")


def arguments(doc: str, default_out: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--only", nargs="*", help="names to build (default: all)")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary folder and print it")
    return parser.parse_args()


def finish(out: Path, written: list[Path], failures: list[str], size_limit: int, tool: str) -> int:
    """Prints what was written; 1 if the folder is over ``size_limit`` bytes or ``tool`` failed."""
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(written)} files written; {out} holds {total:,} bytes")
    if total > size_limit:
        print(f"ERROR: {out} is over {size_limit:,} bytes", file=sys.stderr)
        return 1
    if failures:
        print(f"ERROR: the {tool} failed for {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def check_against(model, data: list, reference: list, framework: str) -> None:
    """onnxruntime on ``model`` with inputs ``data`` gives ``reference`` (the framework's own
    outputs), within 1e-4; raises RuntimeError saying which output differs otherwise."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {value.name: array for value, array in zip(session.get_inputs(), data)})
    if len(got) != len(reference):
        raise RuntimeError(f"{len(got)} outputs, {framework} gives {len(reference)}")
    for index, (ours, theirs) in enumerate(zip(got, reference)):
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=1e-4, rtol=1e-4):
            worst = np.abs(ours - theirs).max() if ours.shape == theirs.shape else "-"
            raise RuntimeError(f"output {index} ({ours.shape}) differs from {framework}'s ({theirs.shape}) by {worst}")


def write_model(path: Path, model, root: Path) -> None:
    """Writes ``model`` (deterministic serialization) and prints its size, opsets and operators."""
    path.write_bytes(model.SerializeToString(deterministic=True))
    operators = sorted({f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in model.graph.node})
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"wrote {shown}  {path.stat().st_size:,} bytes  ({opsets})  {', '.join(operators)}", flush=True)


def per_interpreter(script: Path, names: Sequence[str], out: Path, variable: str, env: dict[str, str],
                    quiet: Callable[[str], bool] | None = None) -> tuple[list[Path], list[str]]:
    """Runs ``script`` once per case name, each in a fresh interpreter told its case through the
    environment ``variable`` (frameworks number names per process, and the names end up in the
    files), with ``PYTHONHASHSEED=0`` and ``env``. With ``quiet``, a case's output is shown only
    if it fails, but for the lines ``quiet`` lets through. Returns the files written and the names
    that failed."""
    written, failures = [], []
    for name in names:
        run_env = dict(os.environ, PYTHONHASHSEED="0", **env, **{variable: name})
        command = [sys.executable, str(script), "--out", str(out)]
        if quiet is None:
            run = subprocess.run(command, env=run_env)
        else:
            run = subprocess.run(command, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            shown = run.stdout if run.returncode else "".join(l for l in run.stdout.splitlines(keepends=True) if quiet(l))
            print(shown, end="", flush=True)
        if run.returncode:
            failures.append(name)
        else:
            written.append(out / f"{name}.onnx")
    return written, failures
