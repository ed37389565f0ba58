"""What every worker thread papertrade starts does first."""

import signal


def leave_interrupts_to_the_main_thread() -> None:
    """Block SIGINT in the calling (worker) thread.

    The kernel hands a signal sent to the process to any thread that does not block it. A
    worker that takes Ctrl-C runs no handler (Python runs them in the main thread only), and the
    main thread, waiting on a lock or a queue, is not woken to run it until that wait ends on its
    own: Ctrl-C would seem ignored while the workers' requests or commits go on. Blocked here,
    the signal always reaches the main thread and interrupts its wait at once.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
