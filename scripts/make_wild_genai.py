"""Regenerates tests/wild/genai/: tiny LLMs exported by onnxruntime-genai's model builder.

Run with the interpreter of the environment locked in requirements/lock-wild-genai.txt
(`make wild-corpus` creates it in .cache/wild-genai-venv and runs this script). For each tiny
configuration below it writes a Hugging Face folder (random weights from a fixed seed and a
word-level tokenizer), runs `python -m onnxruntime_genai.models.builder` on it in a temporary
folder, and copies model.onnx and its external data file (model.onnx.data, if the builder wrote
one) into tests/wild/genai/<name>-<precision>/. Nothing is re-embedded or rewritten.

Usage: python scripts/make_wild_genai.py [--out DIR] [--only NAME ...] [--keep-temp]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from wild_corpus import arguments, finish, write_tokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "wild" / "genai"
SEED = 20240601
SIZE_LIMIT = 15 * 1024 * 1024

# Sizes shared by every model (kept tiny so the whole corpus stays small); each model below
# changes a few of them so that no two files are alike.
COMMON = dict(
    num_hidden_layers=2,
    hidden_size=64,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    vocab_size=256,
    max_position_embeddings=128,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
    tie_word_embeddings=False,
)


def _cfg(**changes):
    return {**COMMON, **changes}


def _configs():
    """(name, precisions, config) for every model, built lazily so --help needs no transformers."""
    from transformers import GemmaConfig, LlamaConfig, MistralConfig, Phi3Config, Qwen2Config

    # Phi-3 LongRoPE: one rescale factor per rotary frequency (head_dim / 2 of them); the long
    # context (max_position_embeddings) is larger than the original one, so the builder picks
    # its LongRoPE class (two cos/sin caches chosen by an If node on the sequence length).
    half = (COMMON["hidden_size"] // COMMON["num_attention_heads"]) // 2
    phi3_rope = {
        "rope_type": "longrope",
        "type": "longrope",  # the builder reads this key too
        "rope_theta": 10000.0,
        "short_factor": [round(1.0 + 0.05 * i, 4) for i in range(half)],
        "long_factor": [round(1.0 + 0.5 * i, 4) for i in range(half)],
    }
    return [
        # Tied embeddings: with int4 the builder shares the lm_head's 4-bit weight with the
        # embedding (GatherBlockQuantized); with fp32 it gathers from the transposed lm_head weight.
        ("llama", ["fp32", "int4"], LlamaConfig(**_cfg(tie_word_embeddings=True), rms_norm_eps=1e-5,
                                               rope_theta=10000.0)),
        # q/k/v biases (randomised below, since the builder drops all-zero biases); head_dim 32
        # (onnxruntime's CPU GroupQueryAttention needs a head size that is a multiple of 16).
        ("qwen2", ["fp32"], Qwen2Config(**_cfg(hidden_size=128, intermediate_size=192, vocab_size=320),
                                        rms_norm_eps=1e-6, rope_theta=1000000.0, use_sliding_window=False)),
        # Untied embeddings, wider MLP; sliding_window is set but this builder release writes
        # GroupQueryAttention local_window_size=-1 anyway.
        ("mistral", ["fp32"], MistralConfig(**_cfg(intermediate_size=160), rms_norm_eps=1e-5,
                                            rope_theta=10000.0, sliding_window=32)),
        # Gemma: tied embeddings, scaled embedding, (1 + weight) RMSNorm, GELU(tanh) MLP, head_dim 32.
        ("gemma", ["fp32"], GemmaConfig(**_cfg(hidden_size=128, intermediate_size=256, vocab_size=512,
                                               tie_word_embeddings=True), head_dim=32, rms_norm_eps=1e-6,
                                        rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh")),
        ("phi3-longrope", ["fp32"], Phi3Config(**_cfg(), rms_norm_eps=1e-5, original_max_position_embeddings=32,
                                               rope_scaling=phi3_rope)),
    ]


def write_hf_folder(folder: Path, config, seed: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.eval()
    # Transformers initialises norm weights to ones (zeros for Gemma) and biases to zeros; the
    # builder leaves out all-zero biases, so give every 1-D parameter seeded random values too.
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for pname, param in sorted(model.named_parameters()):
            if param.dim() == 1:
                noise = 0.1 * torch.randn(param.shape, generator=gen)
                param.copy_(param + noise if "norm" in pname else noise)
    model.save_pretrained(folder)
    write_tokenizer(folder, config.vocab_size)


def run_builder(hf_folder: Path, out: Path, cache: Path, precision: str) -> None:
    cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder",
           "-i", str(hf_folder), "-o", str(out), "-p", precision, "-e", "cpu", "-c", str(cache)]
    # The builder stamps producer_version with `git rev-parse HEAD` run near its own install folder,
    # which answers with this repository's commit when the environment lives inside it (.cache/).
    # With no Git directory it falls back to onnxruntime_genai.__commit__, the release's own commit.
    env = dict(os.environ, PYTHONHASHSEED="0", GIT_DIR=os.devnull)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise RuntimeError(f"builder failed ({' '.join(cmd)}):\n{tail}")


def main() -> int:
    args = arguments(__doc__, DEFAULT_OUT)

    import onnxruntime_genai
    import transformers

    print(f"onnxruntime-genai {onnxruntime_genai.__version__}, transformers {transformers.__version__}")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wild-genai-"))
    failures = []
    written = []
    try:
        for index, (name, precisions, config) in enumerate(_configs()):
            if args.only and name not in args.only:
                continue
            hf = tmp / "hf" / name
            hf.mkdir(parents=True)
            write_hf_folder(hf, config, SEED + 100 * index)
            for precision in precisions:
                label = f"{name}-{precision}"
                built = tmp / "onnx" / label
                try:
                    run_builder(hf, built, tmp / "cache" / label, precision)
                except RuntimeError as err:
                    print(f"FAILED {label}: {err}", file=sys.stderr)
                    failures.append(label)
                    continue
                dest = args.out / label
                if dest.exists():
                    shutil.rmtree(dest)
                dest.mkdir(parents=True)
                for fname in ("model.onnx", "model.onnx.data"):
                    if (built / fname).exists():
                        shutil.copy2(built / fname, dest / fname)
                        written.append(dest / fname)
                        print(f"wrote {(dest / fname).relative_to(ROOT) if dest.is_relative_to(ROOT) else dest / fname}"
                              f"  {(dest / fname).stat().st_size:,} bytes")
    finally:
        if args.keep_temp:
            print(f"temporary folder kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return finish(args.out, written, failures, SIZE_LIMIT, "builder")


if __name__ == "__main__":
    sys.exit(main())
