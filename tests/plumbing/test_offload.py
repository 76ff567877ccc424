"""`off_the_loop`: in a gevent-patched process (the back office) a long C call runs in a
real thread and the loop keeps serving meanwhile; elsewhere it is a plain call."""

import subprocess
import sys
import ast
import textwrap
import threading

from hotspotd.plumbing.offload import gevent_patched, off_the_loop

# A patched process: a greenlet ticks every 10 ms while a call holds its thread for 0.5 s
# without yielding (gevent's own sleep would yield; the unpatched one does not).
SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from hotspotd.plumbing.offload import gevent_patched, off_the_loop

    hold = monkey.get_original("time", "sleep")
    ticks = []

    def tick():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    def during(call):
        ticks.clear()
        ticker = gevent.spawn(tick)
        gevent.sleep(0)
        result = call()
        count = len(ticks)
        ticker.kill()
        return result, count

    print(repr((gevent_patched(), during(lambda: hold(0.5)),
                during(lambda: off_the_loop(lambda s: hold(s) or "done", 0.5)))))
""")


def test_under_gevent_the_loop_keeps_running_during_the_call():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True).stdout
    patched, (held, ticks_held), (result, ticks_off) = ast.literal_eval(out)
    assert patched is True
    assert ticks_held <= 1  # the call as it is: the loop stood still for half a second
    assert result == "done" and ticks_off >= 10  # off the loop: it ticked on meanwhile


def test_without_gevent_it_is_a_plain_call_in_this_thread():
    assert gevent_patched() is False
    assert off_the_loop(lambda: threading.current_thread()) is threading.current_thread()
