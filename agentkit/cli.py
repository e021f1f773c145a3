"""The `agentkit` command: `serve` runs the local Responses API server; `chat`, `run` and
`record` talk to the user's agents (`agentkit.terminal`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from agentkit.local import server_missing
from agentkit.terminal.commands import add_commands, version

DEFAULT_DB = os.path.join(os.path.expanduser("~"), ".agentkit", "server.db")
LOG_LEVELS = ("debug", "info", "warning", "error")
"""No level above error: a traceback is always logged."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentkit", description=__doc__)
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the local Responses API server",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on")
    serve.add_argument(
        "--db", default=os.environ.get("AGENTKIT_DB", DEFAULT_DB), help="SQLite file or :memory:"
    )
    serve.add_argument(
        "--engine", choices=("auto", "scripted"), default="auto", help="who plays the model"
    )
    serve.add_argument(
        "--api-key",
        default=None,
        help="require this key (api-key header or Bearer); if not given, the value of the "
        "environment variable AGENTKIT_SERVER_API_KEY",
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
        "--deployment",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="with --azure: an Azure deployment and its model (repeatable); other names are a 404",
    )
    serve.add_argument(
        "--pace-ms",
        type=float,
        default=0.0,
        help="wait this many milliseconds before each delta event (reproducible latency)",
    )
    serve.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="log to stderr from this level: info has a line per request, error tracebacks only",
    )
    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    status: int = args.handler(args)
    return status


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from agentkit.server.http.app import ServerConfig, create_app
        from agentkit.server.http.runner import check_bind
        from agentkit.server.protocol.reasoning import DEFAULT_REASONING_MODELS
        from agentkit.server.state.lock import DatabaseInUse
    except ImportError as error:
        print(f"agentkit serve: {server_missing('agentkit serve', error)}", file=sys.stderr)
        return 2

    patterns = (
        tuple(p.strip() for p in args.reasoning_models.split(",") if p.strip())
        if args.reasoning_models
        else DEFAULT_REASONING_MODELS
    )
    if args.api_key is None:  # read here, so that --help never shows the key as a default
        args.api_key = os.environ.get("AGENTKIT_SERVER_API_KEY")
    configure_logging(args.log_level)
    try:
        deployments = parse_deployments(args.deployment)
        check_bind(args.host, args.api_key)
        config = ServerConfig(
            db=args.db,
            engine=args.engine,
            api_key=args.api_key,
            reasoning_models=patterns,
            azure=args.azure,
            pace_ms=args.pace_ms,
            deployments=deployments,
        )
        app = create_app(config)
    except (ValueError, DatabaseInUse) as error:
        print(f"agentkit serve: {error}", file=sys.stderr)
        return 2
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"agentkit serve: Responses API at http://{host}:{args.port}/v1 (engine {args.engine}, db {args.db}"
        + (", Azure mode)" if args.azure else ")")
    )
    print(f'  client = OpenAI(base_url="http://{host}:{args.port}/v1", api_key="...")', flush=True)
    # uvicorn's loggers go to the handler above (log_config=None); its access log is off
    # because ours (agentkit.server.access) has the request id. The graceful stop is bounded,
    # so that a client following a long background stream cannot hold the stop up.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def parse_deployments(values: Sequence[str]) -> dict[str, str]:
    """`NAME=MODEL` pairs as a mapping; a `ValueError` naming the first malformed one."""
    deployments: dict[str, str] = {}
    for value in values:
        name, _, model = (part.strip() for part in value.partition("="))
        if not name or not model:
            raise ValueError(f"--deployment {value!r}: expected NAME=MODEL, such as chat=gpt-4o")
        deployments[name] = model
    return deployments


def configure_logging(level: str) -> None:
    """Log records of `level` and above to stderr, one line each (tracebacks follow theirs)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


if __name__ == "__main__":
    raise SystemExit(main())
