"""Regenerates tests/wild/optimum/: tiny transformers models exported by Hugging Face optimum (optimum-onnx).

Run with the interpreter of the environment locked in requirements/lock-wild-optimum.txt
(`make wild-corpus` creates it in .cache/wild-optimum-venv and runs this script). For each tiny
configuration below it writes a Hugging Face folder (random weights from a fixed seed, plus a
word-level tokenizer or a Whisper feature extractor), runs optimum's exporter on it
(`optimum.exporters.onnx.main_export`, what `optimum-cli export onnx --model <folder> --task <task>`
calls) in a temporary folder, and copies the files listed for that model, with their external data
files if the exporter wrote any, into tests/wild/optimum/<name>/. Nothing is re-embedded or
rewritten; the non-merged decoders (decoder_model.onnx, decoder_with_past_model.onnx) are left out
because decoder_model_merged.onnx holds both.

Usage: python scripts/make_wild_optimum.py [--out DIR] [--only NAME ...] [--keep-temp]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from wild_corpus import arguments, finish, write_tokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "wild" / "optimum"
SEED = 20240701
SIZE_LIMIT = 12 * 1024 * 1024
OPSET = 17  # pinned so that a new optimum default does not change the files silently


def _models():
    """(name, task, files to keep, config) for every model, built lazily so --help needs no transformers."""
    from transformers import GPT2Config, T5Config, WhisperConfig

    special = dict(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return [
        # Decoder-only: GPT-2 (learned positions, Conv1D projections, attention with past).
        ("gpt2", "text-generation-with-past", ["model.onnx"],
         GPT2Config(n_layer=2, n_embd=64, n_head=4, n_inner=128, vocab_size=256, n_positions=128,
                    **special)),
        # Encoder-decoder: T5 (relative position buckets, RMS norm, gated-GELU MLP, untied lm_head).
        ("t5", "text2text-generation-with-past", ["encoder_model.onnx", "decoder_model_merged.onnx"],
         T5Config(num_layers=2, num_decoder_layers=2, d_model=32, d_kv=8, num_heads=4, d_ff=64, vocab_size=128,
                  relative_attention_num_buckets=8, relative_attention_max_distance=16,
                  feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
                  **special)),
        # Encoder-decoder on audio: Whisper (Conv1d front end on 8 mel bins x 32 frames).
        ("whisper", "automatic-speech-recognition-with-past", ["encoder_model.onnx", "decoder_model_merged.onnx"],
         WhisperConfig(vocab_size=128, num_mel_bins=8, encoder_layers=2, decoder_layers=2,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                       decoder_ffn_dim=64, d_model=32, max_source_positions=16, max_target_positions=32,
                       decoder_start_token_id=3, bos_token_id=1, eos_token_id=2, pad_token_id=2,
                       begin_suppress_tokens=None, suppress_tokens=None)),
    ]


def write_hf_folder(folder: Path, task: str, config, seed: int) -> None:
    import torch
    from transformers import (AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoModelForSpeechSeq2Seq,
                              WhisperFeatureExtractor)

    factory = {"text-generation-with-past": AutoModelForCausalLM,
               "text2text-generation-with-past": AutoModelForSeq2SeqLM,
               "automatic-speech-recognition-with-past": AutoModelForSpeechSeq2Seq}[task]
    torch.manual_seed(seed)
    model = factory.from_config(config, torch_dtype=torch.float32)
    model.eval()
    # Transformers initialises norm weights to ones and biases to zeros; give every 1-D parameter
    # seeded random values so that a dropped or misplaced bias or scale shows in the outputs.
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for pname, param in sorted(model.named_parameters()):
            if param.dim() == 1:
                noise = 0.1 * torch.randn(param.shape, generator=gen)
                param.copy_(param + noise if "norm" in pname or "ln" in pname else noise)
    model.save_pretrained(folder)
    write_tokenizer(folder, config.vocab_size)
    if task == "automatic-speech-recognition-with-past":
        # chunk_length * sampling_rate / hop_length = 32 frames = 2 * max_source_positions
        WhisperFeatureExtractor(feature_size=config.num_mel_bins, sampling_rate=16000, hop_length=160,
                                chunk_length=0.32, n_fft=400).save_pretrained(folder)


def export(hf_folder: Path, out: Path, task: str, config) -> None:
    from optimum.exporters.onnx import main_export

    # Whisper checks that its features have 2 * max_source_positions frames; optimum's dummy
    # inputs have 3000 (`optimum-cli export onnx ... --nb_max_frames 32` does the same).
    shapes = {"nb_max_frames": 2 * config.max_source_positions} if task.startswith("automatic-speech") else {}
    main_export(str(hf_folder), output=str(out), task=task, opset=OPSET, device="cpu",
                local_files_only=True, library_name="transformers", **shapes)


def main() -> int:
    args = arguments(__doc__, DEFAULT_OUT)

    # optimum's decoder merge names the initializers the two decoders share while walking Python
    # sets of names, whose order follows the string hash seed: fix the seed, or the merged files
    # differ from run to run. It can only be set before the interpreter starts, so start again.
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], env)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from importlib.metadata import version

    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"optimum-onnx {version('optimum-onnx')}, optimum {version('optimum')}, "
          f"transformers {transformers.__version__}, torch {torch.__version__}")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wild-optimum-"))
    failures = []
    written = []
    try:
        for index, (name, task, keep, config) in enumerate(_models()):
            if args.only and name not in args.only:
                continue
            hf = tmp / "hf" / name
            hf.mkdir(parents=True)
            write_hf_folder(hf, task, config, SEED + 100 * index)
            built = tmp / "onnx" / name
            try:
                export(hf, built, task, config)
                missing = [f for f in keep if not (built / f).exists()]
                if missing:
                    raise RuntimeError(f"the exporter wrote {sorted(p.name for p in built.iterdir())}, not {missing}")
            except Exception as err:  # noqa: BLE001 - report every model, then fail
                print(f"FAILED {name}: {type(err).__name__}: {err}", file=sys.stderr)
                failures.append(name)
                continue
            dest = args.out / name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for fname in keep:
                for src in [built / fname, *sorted(built.glob(f"{fname}_data")), *sorted(built.glob(f"{fname}.data"))]:
                    shutil.copy2(src, dest / src.name)
                    written.append(dest / src.name)
                    shown = dest / src.name
                    print(f"wrote {shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown}"
                          f"  {shown.stat().st_size:,} bytes")
    finally:
        if args.keep_temp:
            print(f"temporary folder kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return finish(args.out, written, failures, SIZE_LIMIT, "exporter")


if __name__ == "__main__":
    sys.exit(main())
