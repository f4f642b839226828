#!/usr/bin/env python3
"""Embed or classify a corpus with lat on a Ray cluster.

    python examples/ray_embed.py --model DIR --input FILE --output DIR [--speedup S]
        [--precision P] [--task embed|classify] [--address ADDR] [--threads N] [--batch N]
        [--label NAME=DESCRIPTION]...

The input holds one text a line, or text<TAB>label (the label is ignored; a header line
`sentence<TAB>label` is skipped); a folder or a glob reads many files. Ray Data reads it in
blocks and runs them through actors that each hold one lat.Encoder: each actor takes --threads
cores (default 1) and there are as many actors as the cluster has cores for. The output folder
gets Parquet files with the columns `text` and `embedding` (list of float32), or with --task
classify `text`, `label` and `probs` (the model folder's classifier head, or zero-shot by the
--label descriptions). Rows come out in no particular order.

With no --address a local Ray cluster is started on this machine; with one (for instance
`auto`, or ray://HOST:10001) the script joins that cluster, whose nodes must all see the model
folder, the input and the output folder at the same paths and have lat installed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq
import ray

HEADER = "sentence\tlabel"


def text_of(line: str) -> str:
    """A line's text: all of it, or what precedes its last tab."""
    return line.rsplit("\t", 1)[0] if "\t" in line else line


class LatBatches:
    """One Encoder per actor, built once; each call labels or embeds one block of lines."""

    def __init__(self, model: str, task: str, threads: int, speedup: Optional[float],
                 precision: Optional[str], labels: Dict[str, str]) -> None:
        import lat

        self.task = task
        self.encoder = lat.Encoder(model, threads=threads, speedup=speedup, precision=precision)
        self.zero_shot = None
        if task == "classify" and not self.encoder.info.classifier:
            if len(labels) < 2:
                raise ValueError(f"{model} has no classifier head: give --label NAME=DESCRIPTION "
                                 "at least twice to classify zero-shot")
            self.zero_shot = lat.ZeroShotClassifier(self.encoder, labels)

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = [text_of(line) for line in batch.column("text").to_pylist() if line != HEADER]
        if self.task == "embed":
            vectors = self.encoder.embed(texts)
            offsets = pa.array([i * vectors.shape[1] for i in range(len(texts) + 1)], pa.int32())
            embedding = pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel(), pa.float32()))
            return pa.table({"text": pa.array(texts, pa.string()), "embedding": embedding})
        results = (self.zero_shot or self.encoder).classify(texts)
        return pa.table({
            "text": pa.array(texts, pa.string()),
            "label": pa.array([r.label_name for r in results], pa.string()),
            "probs": pa.array([r.probs.tolist() for r in results], pa.list_(pa.float32())),
        })


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model folder")
    p.add_argument("--input", required=True, help="text file (one text a line, or TSV), folder or glob")
    p.add_argument("--output", required=True, help="folder for the Parquet files")
    p.add_argument("--task", choices=["embed", "classify"], default="embed")
    p.add_argument("--speedup", type=float, help="speedup asked of ACC pruning (default: lat.json's, else 1)")
    p.add_argument("--precision", choices=["fp32", "bf16", "int8"])
    p.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    p.add_argument("--threads", type=int, default=1, help="cores per actor (default 1)")
    p.add_argument("--batch", type=int, default=64, help="texts per call into lat (default 64)")
    p.add_argument("--label", action="append", default=[], metavar="NAME=DESCRIPTION",
                   help="zero-shot label (classify with an embedding model)")
    args = p.parse_args(argv)
    if args.threads < 1 or args.batch < 1:
        p.error("--threads and --batch must be at least 1")
    labels = {}
    for item in args.label:
        name, eq, description = item.partition("=")
        if not eq or not name:
            p.error(f"--label needs NAME=DESCRIPTION, got {item!r}")
        labels[name] = description
    args.labels = labels
    if os.path.isdir(args.output) and any(f.endswith(".parquet") for f in os.listdir(args.output)):
        p.error(f"{args.output} already holds Parquet files; give an empty or new folder")
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    model = str(Path(args.model).resolve())
    ray.init(address=args.address, include_dashboard=False)
    cores = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, cores // args.threads)
    print(f"ray_embed: {actors} actor(s) x {args.threads} thread(s) on {cores} cores",
          file=sys.stderr)

    start = time.perf_counter()
    # Reading and writing take no core of their own: the actors hold every core, and a read
    # waiting for one would wait for ever.
    light = {"num_cpus": 0}
    try:
        ds = ray.data.read_text(args.input, **light)
    except TypeError:  # a Ray whose read_text takes them only as ray_remote_args
        ds = ray.data.read_text(args.input, ray_remote_args=light)
    ds = ds.map_batches(
        LatBatches,
        fn_constructor_kwargs=dict(model=model, task=args.task, threads=args.threads,
                                   speedup=args.speedup, precision=args.precision,
                                   labels=args.labels),
        batch_size=args.batch,
        batch_format="pyarrow",
        num_cpus=args.threads,
        concurrency=actors,
    )
    ds.write_parquet(args.output, ray_remote_args=light)
    seconds = time.perf_counter() - start

    rows = sum(pq.ParquetFile(os.path.join(args.output, f)).metadata.num_rows
               for f in os.listdir(args.output) if f.endswith(".parquet"))
    print(f"ray_embed: {rows} rows in {seconds:.1f} s: {rows / seconds:.1f} rows/s "
          f"({args.task}, {actors} actor(s) x {args.threads} thread(s))")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
