import pytest

from mlfn_keras.errors import EXIT_USAGE, InputPathError, cli_entry


@cli_entry
def _main(argv=None):
    if argv and argv[0] == "bad":
        raise InputPathError("data folder 'x' is missing; expected a Market-1501 root")
    if argv and argv[0] == "bug":
        raise RuntimeError("a bug")
    return 0


def test_user_error_is_two_lines_and_exit_2(capsys):
    assert _main(["bad"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "error: data folder 'x' is missing" in err
    assert "Traceback" not in err


def test_debug_shows_traceback_and_is_stripped(capsys):
    assert _main(["bad", "--debug"]) == EXIT_USAGE
    assert "Traceback" in capsys.readouterr().err
    assert _main(["--debug"]) == 0


def test_missing_file_names_the_file(capsys):
    @cli_entry
    def opener(argv=None):
        open("/nonexistent/model.keras")
        return 0

    assert opener([]) == EXIT_USAGE
    assert "/nonexistent/model.keras" in capsys.readouterr().err


def test_bugs_keep_their_traceback():
    with pytest.raises(RuntimeError):
        _main(["bug"])
