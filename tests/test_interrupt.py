"""Stopping a streamed answer with a real SIGINT: what arrived stays, shown once, and one line says so."""
import os
import signal
import subprocess
import sys
import threading
import time


def interrupt_mid_stream(offline) -> threading.Thread:
    """SIGINT to this process once the server has been streaming for a moment: 2 s, so that even a busy machine's
    client has read some of it, and the 8 s the server takes to send it all are far off."""
    def press_stop():
        deadline = time.monotonic() + 30
        while not (offline.requests and offline.requests[-1].status == 200) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(2)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=press_stop)
    thread.start()
    return thread


def test_without_o_the_partial_answer_is_kept_in_underscore(nb, session, offline):
    offline.chunk_delay = 0.02
    stop = interrupt_mid_stream(offline)
    ran = nb.run("%%chat\nLong please (offline: 400 tokens)")
    stop.join()
    assert isinstance(ran.error, KeyboardInterrupt)
    shown = [o["text/markdown"] for o in ran.outputs if "text/markdown" in o]
    assert len(shown) == 1 and "Interrupted" in shown[0] and "interrupted" in shown[0]  # answer + usage line
    assert ran.stdout.strip().splitlines()[-1].endswith("Interrupted: partial answer kept in _")
    assert "Traceback" not in ran.text and "KeyboardInterrupt" not in ran.text
    kept = nb.run("_").result
    assert kept.interrupted and kept.text.startswith("### Offline answer") and kept is session.last_result


def test_terminal_ipython_shows_the_partial_answer_once(tmp_path):
    """A real terminal IPython, interrupted by SIGINT while the answer streams to its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    shell = subprocess.Popen(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=nocolor"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=env)
    try:
        shell.stdin.write("%load_ext openai_magics\n%openai offline\n"
                          "import openai_magics; openai_magics.session().offline_server.chunk_delay = 0.02\n"
                          "%chat Long please (offline: 400 tokens)\n")
        shell.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 60
        while "You asked" not in seen and time.monotonic() < deadline:
            seen += os.read(shell.stdout.fileno(), 4096).decode()
        shell.send_signal(signal.SIGINT)
        time.sleep(0.5)
        shell.stdin.write("print('kept:', _.interrupted)\nexit\n")
        rest, _ = shell.communicate(timeout=60)
    finally:
        shell.kill()
    out = seen + rest
    assert out.count("### Offline answer") == 1, out
    assert out.count(" · interrupted") == 1, out  # the usage line, once
    assert "Interrupted:" in out and "partial answer kept in _" in out and "kept: True" in out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out
