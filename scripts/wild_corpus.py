"""What the scripts writing tests/wild/ share (scripts/make_wild_genai.py, make_wild_optimum.py):
the tokenizer their Hugging Face folders need, their command line, and their closing report.
Standard library only, but for ``tokenizers`` in write_tokenizer: each script runs in its tool's
own environment."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["arguments", "finish", "write_tokenizer"]


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
