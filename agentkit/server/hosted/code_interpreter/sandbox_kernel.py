"""The Python session a code interpreter container runs: a script (`python -I`), never imported.

It starts as root (or in a fresh user namespace), builds the sandbox (namespaces, mounts, a
fresh uid; see `docs/server.md`, "Code interpreter sandbox"), then reads code cells from a
private pipe and runs them in one persistent namespace, as a notebook kernel does: the value
of a cell's last expression is shown (its `repr`, or a PNG image when it has `_repr_png_`).
Everything the cell prints, and anything its subprocesses write, goes to the log file the
server gave it as stdout/stderr; the reply on the protocol pipe says when the cell is done.

Only the standard library is used here: this file runs before any sandbox exists.
"""

from __future__ import annotations

import ast
import base64
import ctypes
import json
import linecache
import os
import signal
import sys
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REMOUNT = 32
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
CELL = "<cell>"
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
"""The `pivot_root` system call's number, by machine (glibc has no wrapper for it)."""
MNT_DETACH = 2
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
MAX_IMAGE_BYTES = 8 * 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _tmpfs(target: str, size: str, mode: str = "1777") -> None:
    if os.path.isdir(target):
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


# --- building the sandbox ----------------------------------------------------------------------


def enter_namespaces(config: dict[str, Any]) -> None:
    """Unshare, then fork the process that becomes pid 1 of the new pid namespace.

    The parent only waits for it: when the server kills this process group, pid 1 dies, and
    the kernel kills every other process of the namespace with it (fork bombs included).
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    user_namespace = os.geteuid() != 0
    outer_uid, outer_gid = os.getuid(), os.getgid()
    if user_namespace:
        flags |= CLONE_NEWUSER
    _check(_libc.unshare(flags), "unshare")
    if user_namespace:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {outer_uid} 1")
        _write("/proc/self/gid_map", f"0 {outer_gid} 1")
    # Mounts made below must never reach the host: make every mount private first.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    pid = os.fork()
    if pid:
        _wait_for(pid, config)
    _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount_filesystem(config)
    if not user_namespace:
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])
        _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl")  # cleared by setuid
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")


def _wait_for(pid: int, config: dict[str, Any]) -> None:
    """The namespace's parent: on SIGTERM it kills pid 1 and reaps it, then ends as pid 1 did."""
    os.close(config["reply_fd"])
    os.close(config["request_fd"])

    def stop(signum: int, frame: Any) -> None:
        os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        if died_of != signal.SIGKILL:
            signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
    os._exit(os.waitstatus_to_exitcode(status))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _mount_filesystem(config: dict[str, Any]) -> None:
    """A new root: the system's programs and libraries and the Python installation, read-only;
    the container's folder at /mnt/data; private tmpfs for /tmp, /var/tmp, /dev/shm and /run.

    Nothing else of the host is there (no home folders, projects, databases or sockets). Every
    directory to show is opened first and bound from its descriptor, so the tmpfs the new root
    is built on cannot hide it.
    """
    shown: list[tuple[int, str, bool]] = []  # (descriptor, path in the new root, read-only)
    links: list[tuple[str, str]] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            shown.append((_open_dir(path), path, True))
    for path in config["reexpose"]:
        if not any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS):
            shown.append((_open_dir(path), path, True))
    shown.append((_open_dir("/dev"), "/dev", False))
    shown.append((_open_dir(config["data"]), "/mnt/data", False))
    root = next(d for d in ("/tmp", "/mnt", "/srv", "/media") if os.path.isdir(d))
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path, target in links:
        os.symlink(target, root + path)
    # Scratch space first: a folder shown below may live under /tmp (a checkout's virtual
    # environment in CI, say), and mounting /tmp's tmpfs afterwards would hide it.
    for scratch in ("/tmp", "/var/tmp", "/dev/shm", "/run"):
        os.makedirs(root + scratch, exist_ok=True)
        _tmpfs(root + scratch, config["scratch_size"])
    for fd, path, read_only in shown:
        os.makedirs(root + path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", root + path, None, MS_BIND | MS_REC)
        if read_only:
            _mount(None, root + path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
        os.close(fd)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _enter_root(root)


def _enter_root(root: str) -> None:
    """Make `root` the root and let go of the old one (`pivot_root`: unlike `chroot`, nothing
    to climb out of, even for a process with capabilities in its user namespace)."""
    number = PIVOT_ROOT.get(os.uname().machine)
    if number is None:  # an architecture this table does not know: chroot as a fallback
        os.chroot(root)
        os.chdir("/")
        return
    os.chdir(root)
    os.mkdir(".old-root")
    _check(_libc.syscall(number, b".", b".old-root"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old-root", MNT_DETACH), "umount old root")
    os.rmdir("/.old-root")


def _open_dir(path: str) -> int:
    return os.open(path, os.O_PATH | os.O_DIRECTORY)


def block_sockets() -> None:
    """Without a network namespace: refuse sockets at the Python level (not a security boundary:
    ctypes or a subprocess can still reach the network)."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(1, "Network access is disabled in this sandbox.")

    class NoSocket(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            refuse()

    socket.socket = NoSocket  # type: ignore[misc]
    socket.create_connection = refuse
    socket.socketpair = refuse
    socket.fromfd = refuse


# --- running cells -----------------------------------------------------------------------------


def run_cell(code: str, namespace: dict[str, Any]) -> list[str]:
    """Run one cell; returns the images it showed (base64 PNG)."""
    linecache.cache[CELL] = (len(code), None, code.splitlines(True), CELL)
    images: list[str] = []
    try:
        tree = ast.parse(code, CELL, "exec")
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body.pop()
        else:
            last = None
        exec(compile(tree, CELL, "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), CELL, "eval"), namespace)
            _show(value, namespace, images)
    except SyntaxError as error:
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
    except BaseException as error:  # the cell's failure is its output, whatever it is
        tb = error.__traceback__
        traceback.print_exception(type(error), error, tb.tb_next if tb else None)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return images


def _show(value: Any, namespace: dict[str, Any], images: list[str]) -> None:
    if value is None:
        return
    namespace["_"] = value
    png = getattr(value, "_repr_png_", None)
    if callable(png):
        data = png()
        if isinstance(data, bytes) and len(data) <= MAX_IMAGE_BYTES:
            images.append(base64.b64encode(data).decode())
            return
    print(repr(value))


def reap_orphans() -> None:
    """pid 1 inherits orphaned processes: collect the ones that ended (they count as processes)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(config: dict[str, Any]) -> None:
    requests = os.fdopen(config["request_fd"], "r", encoding="utf-8")
    replies = os.fdopen(config["reply_fd"], "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdin = open(os.devnull)  # noqa: SIM115 (lives as long as the kernel)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    replies.write(json.dumps({"ready": True, "cwd": os.getcwd()}) + "\n")
    for line in requests:
        images = run_cell(json.loads(line)["code"], namespace)
        reap_orphans()
        replies.write(json.dumps({"done": True, "images": images}) + "\n")


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        if config["isolation"] == "namespaces":
            enter_namespaces(config)
            os.chdir("/mnt/data")
            os.environ["HOME"] = "/tmp"
        else:
            os.chdir(config["data"])
            block_sockets()
    except Exception as error:  # reported to the server, which may fall back to no isolation
        with os.fdopen(config["reply_fd"], "w") as replies:
            replies.write(json.dumps({"isolation_error": f"{type(error).__name__}: {error}"}))
            replies.write("\n")
        os._exit(3)
    serve(config)


if __name__ == "__main__":
    main()
