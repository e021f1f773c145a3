"""The Python session a code interpreter container runs: a script (`python -I`), never imported.

The process the server starts is a supervisor: it dies with the server (a parent-death signal)
and forks the kernel, which builds the sandbox (namespaces, mounts, a fresh uid; see
`docs/server.md`, "Security"), then reads code cells from a private pipe and runs them in one
persistent namespace, as a notebook kernel does: the value of a cell's last expression is shown
(its `repr`, or a PNG image when it has `_repr_png_`). Everything the cell prints, and anything
its subprocesses write, goes to the log file the server gave it as stdout/stderr; the reply on
the protocol pipe says when the cell is done. When a cell ends, every process it started ends
with it; when the supervisor is told to stop, or the server dies, it kills the kernel and all
that is left of it.

Only the standard library is used here: this file runs before any sandbox exists.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import ctypes
import json
import linecache
import os
import signal
import sys
import traceback
from typing import Any, NoReturn

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
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CELL = "<cell>"
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
"""The `pivot_root` system call's number, by machine (glibc has no wrapper for it)."""
MNT_DETACH = 2
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
"""The only device nodes of the sandbox's /dev: no terminal, no disk, nothing of the host's."""
DEVICE_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
SCRATCH = {"/tmp": "tmp", "/var/tmp": "var-tmp", "/dev/shm": "shm", "/run": "run"}
"""Where the session's one scratch tmpfs shows: the four places share its size."""
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_KILL_ROUNDS = 200

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


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), "prctl")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# --- the supervisor ----------------------------------------------------------------------------


def main() -> None:
    config = json.loads(sys.argv[1])
    if config.get("probe"):
        probe()
        return
    # Die with the server, however it dies (the check closes the race with its death).
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != config["server_pid"]:
        os._exit(1)
    namespaces = config["isolation"] == "namespaces"
    try:
        if namespaces:
            enter_namespaces()
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError as error:
        _report(config, error)
    supervisor = _fork_kernel()
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if namespaces:
            build_sandbox(config)
        else:
            if os.getppid() != supervisor:  # it is already gone
                os._exit(1)
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            os.chdir(config["data"])
            block_sockets()
    except Exception as error:
        _report(config, error)
    serve(config)


def _fork_kernel() -> int:
    """Fork; the parent supervises (never returns), the child goes on as the kernel.

    Returns the supervisor's pid, in the child."""
    child: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if child:
            os.kill(child[0], signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    supervisor = os.getpid()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return supervisor
    child.append(pid)
    supervise(pid)


def supervise(kernel: int) -> NoReturn:
    """Wait for the kernel; then end what is left of it and end as it did.

    On SIGTERM (the server stopping the session, or the server's death) the kernel is killed.
    With namespaces the kernel is pid 1, and the kernel kills every process of the namespace
    with it; without, the supervisor is a subreaper: whatever the kernel started and left
    behind is its child now, and is killed here.
    """
    _, status = os.waitpid(kernel, 0)
    end_descendants()
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        if died_of != signal.SIGKILL:
            signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
    os._exit(os.waitstatus_to_exitcode(status))


def end_descendants() -> None:
    """Kill every process this one started, and what those started: orphans come back to this
    process (pid 1 of a namespace, or a subreaper), so each round kills the next generation."""
    for _ in range(MAX_KILL_ROUNDS):
        children = _children()
        if not children:
            return
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _children() -> list[int]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # After the command's name (which may hold anything but ends with the last ")"):
        # state, then the parent's pid.
        if int(stat[stat.rfind(b")") + 2 :].split()[1]) == me:
            found.append(int(entry))
    return found


def _report(config: dict[str, Any], error: Exception) -> NoReturn:
    """Tell the server why the session could not start, and end."""
    with os.fdopen(config["reply_fd"], "w") as replies:
        replies.write(json.dumps({"start_error": f"{type(error).__name__}: {error}"}) + "\n")
    os._exit(3)


# --- building the sandbox ----------------------------------------------------------------------


def enter_namespaces() -> None:
    """Unshare every namespace the sandbox needs; without root, in a fresh user namespace that
    maps the server's user to root inside."""
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


def build_sandbox(config: dict[str, Any]) -> None:
    """In the new namespaces, as pid 1: the new root, then (as root) a user of its own."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount_filesystem(config)
    if os.geteuid() == 0 and config["uid"] is not None:
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # setuid cleared it
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.chdir("/mnt/data")
    os.environ["HOME"] = "/tmp"


def probe() -> None:
    """Print whether this user may build the sandbox's namespaces here (JSON on stdout)."""
    try:
        enter_namespaces()
        pid = os.fork()
        if pid == 0:
            try:
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            except OSError as error:
                print(json.dumps({"namespaces": False, "why": str(error)}), flush=True)
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            print(json.dumps({"namespaces": True}))
    except OSError as error:
        print(json.dumps({"namespaces": False, "why": str(error)}))


def _mount_filesystem(config: dict[str, Any]) -> None:
    """A new root: the system's programs and libraries and the Python installation, read-only;
    the container's folder at /mnt/data; a /dev of a few harmless devices; one private,
    size-capped tmpfs for /tmp, /var/tmp, /dev/shm and /run; the root itself read-only.

    Nothing else of the host is there (no home folders, projects, databases, sockets, disks or
    shared memory). Every directory to show is opened first and bound from its descriptor, so
    the tmpfs the new root is built on cannot hide it.
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
    shown.append((_open_dir(config["data"]), "/mnt/data", False))
    root = next(d for d in ("/tmp", "/mnt", "/srv", "/media") if os.path.isdir(d))
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path, target in links:
        os.symlink(target, root + path)
    # Scratch space first: a folder shown below may live under /tmp (a checkout's virtual
    # environment in CI, say), and mounting /tmp's tmpfs afterwards would hide it.
    _mount_scratch(root, config["scratch_size"])
    for fd, path, read_only in shown:
        os.makedirs(root + path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", root + path, None, MS_BIND | MS_REC)
        if read_only:
            _mount(None, root + path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
        os.close(fd)
    _make_devices(root)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _enter_root(root)


def _mount_scratch(root: str, size: str) -> None:
    """One tmpfs (so one size cap for the session), shown at each of `SCRATCH`'s places."""
    scratch = root + "/.scratch"
    os.mkdir(scratch)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=755")
    for target, name in SCRATCH.items():
        os.mkdir(f"{scratch}/{name}")
        os.chmod(f"{scratch}/{name}", 0o1777)
        os.makedirs(root + target, exist_ok=True)
        _mount(f"{scratch}/{name}", root + target, None, MS_BIND)


def _make_devices(root: str) -> None:
    """Bind the few devices code may use onto empty files (no `mknod` in a user namespace)."""
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            os.close(os.open(f"{root}/dev/{name}", os.O_WRONLY | os.O_CREAT, 0o666))
            _mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, f"{root}/dev/{name}")


def _enter_root(root: str) -> None:
    """Make `root` the root and let go of the old one (`pivot_root`: unlike `chroot`, nothing
    to climb out of, even for a process with capabilities in its user namespace)."""
    number = PIVOT_ROOT.get(os.uname().machine)
    if number is None:  # an architecture this table does not know: chroot as a fallback
        os.chroot(root)
        os.chdir("/")
    else:
        os.chdir(root)
        os.mkdir(".old-root")
        _check(_libc.syscall(number, b".", b".old-root"), "pivot_root")
        os.chdir("/")
        _check(_libc.umount2(b"/.old-root", MNT_DETACH), "umount old root")
        os.rmdir("/.old-root")
    _check(_libc.umount2(b"/.scratch", MNT_DETACH), "umount scratch")
    os.rmdir("/.scratch")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


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
        end_descendants()  # nothing a cell started outlives it
        replies.write(json.dumps({"done": True, "images": images}) + "\n")


if __name__ == "__main__":
    main()
