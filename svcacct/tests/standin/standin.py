#!/usr/bin/python3
# A stand-in for an AI service (ollama, vLLM, an agent, jupyter) that does
# what the real one needs its unit to allow, and says which step worked:
# scripts/tests/svcacct-nspawn.sh boots a Debian root with systemd-nspawn
# and runs it under the units `svcacct apply` writes (issue 21).
#
# The steps come from /etc/standin/$USER.conf (USER is the account systemd
# runs it as), one per line:
#   meminfo          read /proc/meminfo (ollama sizes its scheduling by it)
#   write PATH       create directory PATH if missing (as ollama makes
#                    ~/.ollama/models), then a file in it, and remove it
#   nowrite PATH     creating a file in PATH must be refused
#   device PATH      open a device node read-write (a GPU's)
#   listen PORT      listen on 127.0.0.1:PORT and talk to itself through it
#   connect ADDR:PORT  an outbound connection that must work
#   noconnect ADDR:PORT  an outbound connection that must be refused
#   wx               map memory writable and executable (a JIT)
#   affinity         set its own CPU affinity (a worker pinning itself)
# Each prints "STANDIN STEP ok" or "STANDIN STEP FAIL ERRNO", then
# "STANDIN done".
import errno
import mmap
import os
import socket
import sys
import time


def report(step, error=None):
    if error is None:
        print(f"STANDIN {step} ok", flush=True)
    else:
        name = errno.errorcode.get(getattr(error, "errno", None) or 0, type(error).__name__)
        print(f"STANDIN {step} FAIL {name}", flush=True)


def run(step, arg):
    label = f"{step} {arg}".strip()
    try:
        if step == "meminfo":
            with open("/proc/meminfo") as f:
                if "MemTotal" not in f.read():
                    raise OSError(errno.ENODATA, "no MemTotal")
        elif step == "write":
            os.makedirs(arg, exist_ok=True)
            path = os.path.join(arg, f".standin-{os.getpid()}")
            with open(path, "w") as f:
                f.write("x")
            os.unlink(path)
        elif step == "nowrite":
            path = os.path.join(arg, f".standin-{os.getpid()}")
            try:
                with open(path, "w") as f:
                    f.write("x")
            except OSError as e:
                print(f"STANDIN {label} ok {errno.errorcode.get(e.errno, '?')}", flush=True)
                return
            os.unlink(path)
            raise OSError(errno.EEXIST, "the write was allowed")
        elif step == "device":
            fd = os.open(arg, os.O_RDWR)
            os.close(fd)
        elif step == "listen":
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", int(arg)))
            server.listen(1)
            client = socket.create_connection(("127.0.0.1", int(arg)), timeout=5)
            conn, _ = server.accept()
            client.sendall(b"ping")
            if conn.recv(4) != b"ping":
                raise OSError(errno.EIO, "no echo")
            for s in (client, conn, server):
                s.close()
        elif step in ("connect", "noconnect"):
            host, port = arg.rsplit(":", 1)
            try:
                # The peer may still be starting: a refusal is retried.
                for attempt in range(20):
                    try:
                        socket.create_connection((host, int(port)), timeout=3).close()
                        break
                    except ConnectionRefusedError:
                        if attempt == 19:
                            raise
                        time.sleep(0.5)
            except OSError as e:
                if step == "noconnect":
                    print(f"STANDIN {label} ok {errno.errorcode.get(e.errno, type(e).__name__)}", flush=True)
                    return
                raise
            if step == "noconnect":
                raise OSError(errno.EEXIST, "the connection was allowed")
        elif step == "wx":
            m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            m.close()
        elif step == "affinity":
            os.sched_setaffinity(0, os.sched_getaffinity(0))
        else:
            raise ValueError(f"unknown step {step}")
    except Exception as e:  # every failure is a result to report
        report(label, e)
        return
    report(label)


def main():
    user = os.environ.get("USER", "")
    try:
        with open(f"/etc/standin/{user}.conf") as f:
            lines = [l.split(None, 1) for l in f if l.strip() and not l.startswith("#")]
    except OSError as e:
        report("config", e)
        lines = []
    for words in lines:
        run(words[0], words[1].strip() if len(words) > 1 else "")
    print("STANDIN done", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
