"""How a stage ends: Ctrl-C is exit 130 and one line, even with SIGINT inherited ignored."""


def test_ctrl_c_gives_exit_130_even_when_sigint_was_inherited_ignored(capsys):
    """A job started in the background by a non-interactive shell (as CI starts its jobs) inherits
    SIGINT ignored; the stage must still turn Ctrl-C into exit 130 and one line (it gave 1: terraform
    took the signal back and failed, and the stage never saw the interrupt)."""
    import signal

    from pipeline.errors import run as run_stage

    def interrupted(argv):
        signal.raise_signal(signal.SIGINT)
        return 0

    before_int, before_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert run_stage("provision", interrupted, []) == 130
    finally:
        signal.signal(signal.SIGINT, before_int)
        signal.signal(signal.SIGTERM, before_term)
    assert capsys.readouterr().err == "provision: interrupted\n"
