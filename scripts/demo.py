"""`make demo`: load a model's structure without its weights and show what it holds.

    python scripts/demo.py models/llama3-8b.onnx [--seq 128]

The bundled model is the skeleton of a Llama-3-8B-shaped decoder whose 32 GB weight file does not
exist. Prints weights by dtype, node and op counts, a few layers with shapes, the output of a meta
forward pass, time taken and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from collections import Counter

import torch

import onnx_weightless as ow
from onnx_weightless import convert  # the conversion stack (onnx2torch and ours) loads here, before the timings


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.2f} TiB"


def human_count(n: float) -> str:
    for unit in ("", "K", "M", "B", "T"):
        if n < 1000 or unit == "T":
            return f"{n:.2f}{unit}" if unit else f"{int(n)}"
        n /= 1000
    return f"{n:.2f}T"


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    # onnx2torch's Slice module triggers a torch deprecation warning on every call; it is not ours to fix.
    warnings.filterwarnings("ignore", category=UserWarning, module="onnx2torch")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="path to an .onnx file (weight files may be missing)")
    parser.add_argument("--seq", type=int, default=None, help="sequence length for the meta forward (default: the graph's)")
    parser.add_argument("--layers", type=int, default=12, help="layers to list")
    args = parser.parse_args()

    rss_before = peak_rss()
    t0 = time.perf_counter()
    index = ow.scan(args.model)
    t1 = time.perf_counter()
    gm = convert(args.model)
    t2 = time.perf_counter()

    summary = index.summary
    print(f"model       {args.model} ({human_bytes(index.file_size)})")
    print(f"producer    {summary.producer_name} {summary.producer_version}, IR {summary.ir_version}, "
          + ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in summary.opsets))
    files = index.totals.by_external_file
    for location, totals in files.items():
        print(f"external    {location}: {totals.tensors} tensors, {human_bytes(totals.bytes)}")

    # Weights as torch holds them: meta tensors cost nothing; real ones are the small constants.
    rows: dict[tuple[str, str], list[int]] = {}
    for _, tensor in list(gm.named_parameters()) + list(gm.named_buffers()):
        row = rows.setdefault((str(tensor.dtype).removeprefix("torch."), tensor.device.type), [0, 0, 0])
        row[0] += 1
        row[1] += tensor.numel()
        row[2] += tensor.numel() * tensor.element_size()
    print(f"\n{'dtype':<12}{'device':<8}{'tensors':>9}{'elements':>14}{'bytes':>14}")
    for (dtype, device), (count, elements, size) in sorted(rows.items()):
        print(f"{dtype:<12}{device:<8}{count:>9}{human_count(elements):>14}{human_bytes(size):>14}")
    total = sum(r[1] for r in rows.values())
    print(f"{'total':<20}{sum(r[0] for r in rows.values()):>9}{human_count(total):>14}"
          f"{human_bytes(sum(r[2] for r in rows.values())):>14}")

    fx_ops = Counter(n.op for n in gm.graph.nodes)
    print(f"\nONNX graph  {summary.node_count} nodes, {len(summary.op_histogram)} op types")
    print("            " + ", ".join(f"{op} {n}" for op, n in sorted(summary.op_histogram.items(), key=lambda kv: -kv[1])))
    print(f"FX graph    {len(gm.graph.nodes)} nodes ({', '.join(f'{k} {v}' for k, v in fx_ops.items())})")

    print(f"\nfirst layers holding weights:")
    shown = 0
    for node in gm.graph.nodes:
        if shown >= args.layers:
            break
        if node.op == "get_attr":
            tensor = gm.get_buffer(node.target) if "." in node.target else getattr(gm, node.target)
            if tensor.device.type == "meta":
                users = ", ".join(type(gm.get_submodule(u.target)).__name__ for u in node.users if u.op == "call_module")
                print(f"  {node.target:<40} {str(list(tensor.shape)):<18} {str(tensor.dtype):<16} -> {users}")
                shown += 1
        elif node.op == "call_module":
            module = gm.get_submodule(node.target)
            params = [(n, list(p.shape)) for n, p in module.named_parameters(recurse=False)]
            if params:
                print(f"  {node.target:<40} {type(module).__name__} {params}")
                shown += 1

    inputs = []
    skeleton = ow.load(args.model)
    for value in skeleton.graph.input:
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in value.type.tensor_type.shape.dim]
        if args.seq is not None and len(dims) == 2:
            dims[1] = args.seq
        inputs.append(torch.empty(dims, dtype=ow.torch_dtype(value.type.tensor_type.elem_type), device="meta"))
    t3 = time.perf_counter()
    out = ow.meta_forward(gm, *inputs)
    t4 = time.perf_counter()
    outs = out if isinstance(out, (tuple, list)) else (out,)
    print("\nmeta forward " + ", ".join(f"{list(i.shape)} {i.dtype}" for i in inputs) + " -> "
          + ", ".join(f"{list(o.shape)} {o.dtype}" for o in outs))

    print(f"\ntime        scan {1e3 * (t1 - t0):.1f} ms, convert {t2 - t1:.2f} s, meta forward {t4 - t3:.2f} s")
    print(f"memory      peak RSS {human_bytes(peak_rss())} (after imports, before loading: {human_bytes(rss_before)}); "
          f"the weights would take {human_bytes(index.totals.all.bytes)}")


if __name__ == "__main__":
    main()
