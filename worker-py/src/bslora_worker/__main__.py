"""The BSLoRA worker: one process per device, serving ``WorkerService`` over gRPC.

Run::

    python -m bslora_worker serve --listen 127.0.0.1:0 --run-dir .bslora/worker-0

It prints one JSON ready line naming the bound address, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bslora_worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="serve WorkerService on an address")
    serve_p.add_argument("--listen", default="127.0.0.1:0", help="host:port to bind (port 0 picks a free one)")
    serve_p.add_argument("--run-dir", default=".bslora/worker", help="checkpoints and held adapters go here")
    serve_p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    serve_p.add_argument("--dry-run", action="store_true",
                         help="answer Train and Evaluate at once without a model (control-plane benchmarks)")
    serve_p.add_argument("--without-torch", action="store_true",
                         help="with --dry-run: serve from a service that never imports torch (about 40 MiB instead "
                              "of 400 MiB per worker, for scale runs with many workers on one machine; "
                              "CountParameters and UploadAdapter answer UNIMPLEMENTED)")
    serve_p.add_argument("--allowed-root", action="append", default=None, metavar="DIR",
                         help="local models and data must lie under DIR (repeatable; also BSLORA_ALLOWED_ROOTS, "
                              "colon-separated; default: none, so only builtin and hub references are accepted)")
    serve_p.add_argument("--data-mirror", default=None, metavar="DIR",
                         help="read named data sets (hub ids, llm-adapters:SET) from this folder, laid out by dataset "
                              "id and split, instead of the network (also BSLORA_DATA_MIRROR)")
    args = parser.parse_args(argv)
    if args.without_torch and not args.dry_run:
        parser.error("--without-torch only applies to --dry-run (a real worker trains with torch)")
    if args.data_mirror:
        mirror = Path(args.data_mirror).expanduser().resolve()
        if not mirror.is_dir():
            parser.error(f"--data-mirror {args.data_mirror}: not a folder")
        os.environ["BSLORA_DATA_MIRROR"] = str(mirror)
    roots = list(args.allowed_root or [])
    if os.environ.get("BSLORA_ALLOWED_ROOTS"):
        roots += [r for r in os.environ["BSLORA_ALLOWED_ROOTS"].split(":") if r]

    # Threads are fixed before gRPC starts; nothing forks after this point.
    from .server import serve

    asyncio.run(serve(args.listen, Path(args.run_dir), args.device, dry_run=args.dry_run,
                      allowed_roots=tuple(roots), without_torch=args.without_torch))


if __name__ == "__main__":
    main()
