#!/usr/bin/env python3
"""An SSH server that answers like a Cisco IOS router's CLI, for lab tests of
the controller's configuration push (there is no real router here).

It keeps a running configuration as IOS shows it (top-level lines, and blocks
of a header and indented sub-commands), reads commands the way IOS's parser
places them (a sub-command belongs to the block being configured; a top-level
command leaves the block), and answers the exec commands a push tool uses:
  terminal length 0 | terminal width N | show running-config |
  configure terminal ... end | copy running-config flash:NAME |
  configure replace flash:NAME force | write memory | show archive
Invalid input gets IOS's "% Invalid input detected at '^' marker.".

Faults for tests: --fail-on REGEX refuses matching configuration lines;
--fail-replace makes `configure replace` abort; --close-on REGEX drops the
connection when a matching line arrives (an edge that hangs up mid-push).
--faults FILE holds the same as JSON ({"fail_on": ..., "close_on": ...,
"fail_replace": true, "user_exec": true}), read at every command, so a test
changes them while the router runs; user_exec logs the user in at privilege
1 (prompt `R1>`).

Only public-key authentication, for the one key in --authorized-key.
After every change the state (running, startup, flash files, the commands
received) is written as JSON to --state, for the test to read.

  ios_ssh_emulator.py --listen 127.0.0.1:0 --host-key KEY --authorized-key PUB
                      --hostname R1 --config INITIAL.cfg --state STATE.json
Prints "listening PORT" once it accepts connections.
"""

import argparse
import json
import re
import socket
import sys
import threading

import paramiko

INVALID = "% Invalid input detected at '^' marker."

# Commands that stand at the top level of a configuration; every other line
# typed in configuration mode is a sub-command of the block being configured.
TOP = re.compile(r"^(no )?(crypto |ip access-list |access-list |interface |hostname |ip route |router |"
                 r"line |ip domain|username |service |version |boot|logging |ntp |snmp-server |banner |"
                 r"enable |aaa |ip ssh |control-plane|end$)")
# Top-level commands that open a block, and how many words name the block.
BLOCKS = [(re.compile(r"^crypto (map|dynamic-map) \S+ \d+"), 4),
          (re.compile(r"^crypto ipsec transform-set \S+"), 4),
          (re.compile(r"^crypto ipsec profile \S+"), 4),
          (re.compile(r"^crypto isakmp (policy|profile) \S+"), 4),
          (re.compile(r"^crypto keyring \S+"), 3),
          (re.compile(r"^crypto ikev2 (proposal|policy|keyring|profile) \S+"), 4),
          (re.compile(r"^crypto pki trustpoint \S+"), 4),
          (re.compile(r"^ip access-list (extended|standard) \S+"), 4),
          (re.compile(r"^interface \S+"), 2)]
# Sub-commands that may be given several times (the others replace).
MULTI = re.compile(r"^(set peer |permit |deny |remark |\d+ |peer |address |pre-shared-key |match identity |"
                   r"proposal |encryption |integrity |group |description )")


def block_key(line):
    for pattern, words in BLOCKS:
        if pattern.match(line):
            return " ".join(line.split()[:words])
    return None


def line_key(line):
    """What a top-level line is the setting of (a later one replaces it)."""
    w = line.split()
    if line.startswith("crypto isakmp key ") and "address" in w:
        return "crypto isakmp key @" + " ".join(w[w.index("address"):])
    if line.startswith("access-list "):
        return line  # numbered lists grow line by line
    return line


def sub_key(sub):
    if MULTI.match(sub):
        return sub
    w = sub.split()
    if len(w) > 1 and w[1] in ("local", "remote"):  # authentication local|remote, keyring local, ...
        return " ".join(w[:2])
    if sub.startswith("set security-association lifetime "):
        return " ".join(w[:4])
    return " ".join(w[:2]) if w and w[0] == "set" else w[0] if w else sub


class Config:
    """IOS's running configuration: items in order, each a top-level line
    or a block {header, subs}."""

    def __init__(self, text=""):
        self.items = []
        current = None
        for raw in text.splitlines():
            if not raw.strip() or raw.strip() == "!" or raw.strip() == "end":
                current = None if raw.strip() == "end" or not raw.startswith(" ") else current
                continue
            if raw.startswith(" ") and current is not None:
                current["subs"].append(raw.strip())
                continue
            line = raw.strip()
            if block_key(line):
                current = {"header": line, "subs": []}
                self.items.append(current)
            else:
                current = None
                self.items.append({"line": line})

    def text(self):
        out = []
        for it in self.items:
            if "line" in it:
                out.append(it["line"])
            else:
                out.append(it["header"])
                out += [" " + s for s in it["subs"]]
                out.append("!")
        return "\n".join(out) + "\n"

    def find_block(self, key):
        for it in self.items:
            if "header" in it and block_key(it["header"]) == key:
                return it
        return None

    def top(self, line):
        """A top-level command; returns the block it opens (or None)."""
        negate = line.startswith("no ")
        body = line[3:] if negate else line
        key = block_key(body)
        if key:
            blk = self.find_block(key)
            if negate:
                if blk is None:
                    return INVALID
                self.items.remove(blk)
                return None
            if blk is None:
                blk = {"header": body, "subs": []}
                self.items.append(blk)
            else:
                blk["header"] = body  # e.g. a transform set's transforms
            return blk
        k = line_key(body)
        for it in self.items:
            if "line" in it and line_key(it["line"]) == k:
                if negate:
                    self.items.remove(it)
                else:
                    it["line"] = body
                return None
        if negate:
            return INVALID
        self.items.append({"line": body})
        return None

    @staticmethod
    def sub(blk, line):
        negate = line.startswith("no ")
        body = line[3:] if negate else line
        if negate:
            for s in blk["subs"]:
                if s == body or (not MULTI.match(body) and sub_key(s) == sub_key(body)):
                    blk["subs"].remove(s)
                    return None
            return INVALID
        k = sub_key(body)
        for i, s in enumerate(blk["subs"]):
            if sub_key(s) == k:
                blk["subs"][i] = body
                return None
        blk["subs"].append(body)
        return None


class Router:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        with open(args.config) if args.config else open("/dev/null") as f:
            initial = f.read()
        self.running = Config(initial)
        self.startup = self.running.text()
        self.flash = {}
        self.received = []
        self.save()

    def fault(self, name):
        if self.args.faults:
            try:
                with open(self.args.faults) as f:
                    return json.load(f).get(name)
            except (OSError, ValueError):
                return None
        return getattr(self.args, name)

    def save(self):
        if not self.args.state:
            return
        with open(self.args.state + ".tmp", "w") as f:
            json.dump({"running": self.running.text(), "startup": self.startup, "flash": self.flash,
                       "received": self.received}, f, indent=1)
        import os
        os.replace(self.args.state + ".tmp", self.args.state)


class Session:
    """One SSH shell: reads lines, answers as IOS does."""

    def __init__(self, router, chan):
        self.r = router
        self.chan = chan
        self.mode = "exec"
        self.block = None
        self.buf = b""

    def send(self, text):
        self.chan.sendall(text.replace("\n", "\r\n").encode())

    def prompt(self):
        host = self.r.args.hostname
        if self.mode == "exec":
            return host + (">" if self.r.fault("user_exec") else "#")  # privilege 1 or 15
        if self.block is None:
            return host + "(config)#"
        header = self.block["header"]
        kind = ("config-crypto-map" if header.startswith(("crypto map", "crypto dynamic-map")) else
                "config-if" if header.startswith("interface") else
                "config-ext-nacl" if header.startswith("ip access-list") else
                "cfg-crypto-trans" if "transform-set" in header else
                "config-isakmp" if header.startswith("crypto isakmp policy") else "config-" + header.split()[1])
        return "%s(%s)#" % (host, kind)

    def readline(self):
        while b"\r" not in self.buf and b"\n" not in self.buf:
            data = self.chan.recv(4096)
            if not data:
                return None
            self.buf += data
        m = re.search(rb"\r\n|\r|\n", self.buf)
        line, self.buf = self.buf[:m.start()], self.buf[m.end():]
        text = line.decode(errors="replace")
        self.send(text + "\n")  # the terminal echoes what is typed
        return text

    def run(self):
        self.send("\n%s" % self.prompt())
        while True:
            line = self.readline()
            if line is None:
                return
            line = line.strip()
            with self.r.lock:
                self.r.received.append(line)
                if self.r.fault("close_on") and re.search(self.r.fault("close_on"), line):
                    self.r.save()
                    self.chan.close()
                    return
                out = self.config(line) if self.mode == "config" else self.exec(line)
                self.r.save()
            if out == "exit":
                self.chan.close()
                return
            if out:
                self.send(out + "\n")
            self.send(self.prompt())

    def exec(self, line):
        r = self.r
        if not line:
            return ""
        if re.match(r"^terminal (length|width) \d+$", line):
            return ""
        if line in ("show running-config", "show run"):
            text = r.running.text()
            return "Building configuration...\n\nCurrent configuration : %d bytes\n!\n%send" % (len(text), text)
        if line in ("configure terminal", "conf t"):
            self.mode, self.block = "config", None
            return "Enter configuration commands, one per line.  End with CNTL/Z."
        m = re.match(r"^copy running-config flash:(\S+)$", line)
        if m:
            self.send("Destination filename [%s]? " % m.group(1))
            self.readline()
            r.flash[m.group(1)] = r.running.text()
            return "%d bytes copied in 0.052 secs" % len(r.flash[m.group(1)])
        m = re.match(r"^configure replace flash:(\S+) force$", line)
        if m:
            if m.group(1) not in r.flash:
                return "%%Error opening flash:%s (File not found)" % m.group(1)
            if r.fault("fail_replace"):
                return ("%The rollback configlet from the last pass is listed below:\n"
                        "********\n!List of Rollback Commands:\nno crypto map\nend\n********\n\n"
                        "%Rollback aborted after 5 passes")
            r.running = Config(r.flash[m.group(1)])
            return "Total number of passes: 1\nRollback Done"
        if line in ("write memory", "copy running-config startup-config"):
            r.startup = r.running.text()
            return "Building configuration...\n[OK]"
        if line == "exit":
            return "exit"
        return INVALID

    def config(self, line):
        r = self.r
        if not line or line == "!":
            return ""
        if line in ("end", "\x1a"):
            self.mode, self.block = "exec", None
            return ""
        if line == "exit":
            if self.block is None:
                self.mode = "exec"
            self.block = None
            return ""
        if r.fault("fail_on") and re.search(r.fault("fail_on"), line):
            return INVALID
        in_interface = self.block is not None and self.block["header"].startswith("interface ")
        if in_interface and re.match(r"^(no )?crypto map \S+$", line):
            return Config.sub(self.block, line) or ""  # the interface's map, not a map entry
        if TOP.match(line) or self.block is None:
            if not TOP.match(line):
                return INVALID
            out = r.running.top(line)
            if out == INVALID:
                self.block = None
                return INVALID
            self.block = out
            return ""
        return Config.sub(self.block, line) or ""


class Server(paramiko.ServerInterface):
    def __init__(self, authorized, user):
        self.authorized = authorized
        self.user = user
        self.shell = threading.Event()

    def check_auth_publickey(self, username, key):
        ok = username == self.user and key.get_base64() == self.authorized.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "publickey"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args):
        return True

    def check_channel_shell_request(self, channel):
        self.shell.set()
        return True


def serve(conn, router, host_key, authorized, user):
    t = paramiko.Transport(conn)
    t.add_server_key(host_key)
    server = Server(authorized, user)
    try:
        t.start_server(server=server)
        chan = t.accept(20)
        if chan is None or not server.shell.wait(10):
            return
        Session(router, chan).run()
    except (EOFError, OSError, paramiko.SSHException):
        pass
    finally:
        t.close()


def load_public(path):
    kind, b64 = open(path).read().split()[:2]
    return paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(b64)) \
        if hasattr(paramiko.PKey, "from_type_string") else {
            "ssh-ed25519": paramiko.Ed25519Key, "ecdsa-sha2-nistp256": paramiko.ECDSAKey,
            "ssh-rsa": paramiko.RSAKey}[kind](data=__import__("base64").b64decode(b64))


def load_private(path):
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except paramiko.SSHException:
            continue
    raise SystemExit("cannot read host key %s" % path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--host-key", required=True)
    p.add_argument("--authorized-key", required=True)
    p.add_argument("--user", default="vpnfleet")
    p.add_argument("--hostname", default="Router")
    p.add_argument("--config")
    p.add_argument("--state")
    p.add_argument("--fail-on")
    p.add_argument("--close-on")
    p.add_argument("--fail-replace", action="store_true")
    p.add_argument("--faults")
    p.add_argument("--user-exec", action="store_true")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    router = Router(args)
    host_key = load_private(args.host_key)
    authorized = load_public(args.authorized_key)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(16)
    print("listening %d" % s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, router, host_key, authorized, args.user), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
