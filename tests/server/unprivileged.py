"""Run a local server as an unprivileged user, for `test_sandbox_unprivileged.py` (a script).

`python unprivileged.py without-user-namespaces CMD...` (as root) runs CMD as `nobody` in a user
namespace of its own whose limit on user namespaces is 0: the machine of a user who may not
create namespaces, without changing this machine's settings.
`python unprivileged.py serve DB ISOLATION` serves on a free port, prints the base URL, logs at
INFO on stderr, and stops when stdin closes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

CLONE_NEWUSER = 0x10000000
NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def without_user_namespaces(argv: list[str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    unshared_r, unshared_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        if libc.unshare(CLONE_NEWUSER) != 0:
            os._exit(70)
        os.write(unshared_w, b"x")
        os.read(mapped_r, 1)  # the parent, privileged outside, maps our ids
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0")  # this namespace's own limit: the host's is untouched
        os.execvp(SETPRIV[0], [*SETPRIV, *argv])
    os.read(unshared_r, 1)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write("0 0 65536")
    os.write(mapped_w, b"x")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def serve(db: str, isolation: str) -> None:
    from agentkit.server import LocalServer
    from agentkit.server.hosted.code_interpreter.sandbox import SandboxLimits

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    limits = SandboxLimits(isolation=isolation, timeout=30)  # type: ignore[arg-type]
    with LocalServer(db=db, sandbox=limits) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    if sys.argv[1] == "without-user-namespaces":
        sys.exit(without_user_namespaces(sys.argv[2:]))
    serve(sys.argv[2], sys.argv[3])
