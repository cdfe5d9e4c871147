from __future__ import annotations

import os
import signal
import threading

from hygie.worker.runner import Worker, stop_on


def test_a_signal_arriving_while_the_loop_holds_its_event_s_lock_stops_it_later_without_hanging():
    worker = Worker()
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        stop_on(worker, signal.SIGUSR1)
        # The main thread holds the lock of the worker's Event, as inside Event.wait(); a handler
        # calling Event.set() here would wait on it for ever. Two signals, as the supervisor sends.
        with worker._stop._cond:
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR1)
            assert not worker.stopping  # handed to another thread, which waits for the lock
        stoppers = [t for t in threading.enumerate() if t.name == "hygie-worker-stop"]
        for thread in stoppers:
            thread.join(10)
        assert worker.stopping and not any(t.is_alive() for t in stoppers)
    finally:
        signal.signal(signal.SIGUSR1, previous)
