"""The `agentkit` command: `agentkit serve` runs the local Responses API server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".agentkit", "server.db")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the local Responses API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--db", default=os.environ.get("AGENTKIT_DB", DEFAULT_DB), help="SQLite file or :memory:"
    )
    serve.add_argument("--engine", choices=("auto", "scripted"), default="auto")
    serve.add_argument(
        "--api-key",
        default=os.environ.get("AGENTKIT_SERVER_API_KEY"),
        help="require this key (api-key header or Bearer); env AGENTKIT_SERVER_API_KEY",
    )
    serve.add_argument(
        "--reasoning-models",
        default=None,
        help="comma-separated model name patterns treated as reasoning models",
    )
    serve.add_argument(
        "--azure",
        action="store_true",
        help="answer as Azure OpenAI does where it differs from OpenAI (see docs/server.md)",
    )
    serve.add_argument(
        "--pace-ms",
        type=float,
        default=0.0,
        help="wait this many milliseconds before each delta event (reproducible latency)",
    )
    args = parser.parse_args(argv)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agentkit.server.http.app import ServerConfig, create_app
    from agentkit.server.http.runner import check_bind
    from agentkit.server.protocol.reasoning import DEFAULT_REASONING_MODELS

    try:
        check_bind(args.host, args.api_key)
    except ValueError as error:
        print(f"agentkit serve: {error}", file=sys.stderr)
        return 2
    patterns = (
        tuple(p.strip() for p in args.reasoning_models.split(",") if p.strip())
        if args.reasoning_models
        else DEFAULT_REASONING_MODELS
    )
    config = ServerConfig(
        db=args.db,
        engine=args.engine,
        api_key=args.api_key,
        reasoning_models=patterns,
        azure=args.azure,
        pace_ms=args.pace_ms,
    )
    app = create_app(config)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"agentkit serve: Responses API at http://{host}:{args.port}/v1 (engine {args.engine}, db {args.db}"
        + (", Azure mode)" if args.azure else ")")
    )
    print(f'  client = OpenAI(base_url="http://{host}:{args.port}/v1", api_key="...")', flush=True)
    # Bounded, so that a client following a long background stream cannot hold the stop up.
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
