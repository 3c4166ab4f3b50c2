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
