"""Assertions for the lab tests: each check prints what held, the first
that does not raises Fail with what was expected."""

import sys
import time


class Fail(Exception):
    pass


def skip(why):
    """Exit with ctest's skip code (77)."""
    print("SKIP:", why)
    sys.exit(77)


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("  ok:", what)


def wait_for(fn, timeout, what, interval=0.2):
    """Polls fn until it returns something true; returns that."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise Fail("timed out: %s (last: %r)" % (what, last))


def metric(text, name, labels):
    """One sample of a Prometheus text scrape, e.g. metric(t, "x_total", 'a="b"');
    0.0 when absent."""
    want = "%s{%s} " % (name, labels)
    for line in text.splitlines():
        if line.startswith(want):
            return float(line.split()[-1])
    return 0.0
