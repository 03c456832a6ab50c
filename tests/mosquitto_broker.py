"""A mosquitto broker for tests and benchmarks: 127.0.0.1 only, a free
port, a temporary config in a folder the caller owns; started and stopped
by the caller (never a system service)."""
import getpass
import os
import shutil
import socket
import subprocess
import time

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# ---- the broker ----------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1 with a temporary config; persistence keeps
    the subscribers' sessions across a restart."""

    def __init__(self, folder, persistence=False, extra=""):
        """extra: config lines instead of "allow_anonymous true"."""
        self.folder = folder
        self.port = free_port()
        self.conf = os.path.join(folder, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write(extra or "allow_anonymous true\n")
            # as root mosquitto would switch to the mosquitto user
            f.write("user %s\n" % getpass.getuser())
            # a slow test subscriber must not lose QoS 1 messages
            f.write("max_queued_messages 0\n")
            f.write("log_dest file %s\n" % os.path.join(folder, "broker.log"))
            if persistence:
                f.write("persistence true\n")
                f.write("persistence_location %s/\n" % folder)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "mosquitto on port %d" % self.port)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


