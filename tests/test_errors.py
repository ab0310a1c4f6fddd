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


def test_disk_full_anywhere_in_the_chain_is_one_line(capsys):
    import errno

    @cli_entry
    def writer(argv=None):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/data/run/events.jsonl")
        except OSError as error:
            raise ValueError("Unable to synchronously write data") from error  # how h5py and Keras wrap it

    assert writer([]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "No space left on the device while writing '/data/run/events.jsonl'" in err and "Traceback" not in err


def test_h5py_style_message_without_errno_is_recognised():
    from mlfn_keras.errors import DiskFullError

    cause = DiskFullError.find_cause(RuntimeError("Can't write data (file write failed: errno = 28, "
                                                  "error message = 'No space left on device')"))
    assert cause is not None and cause.errno == errno_enospc()


def errno_enospc():
    import errno

    return errno.ENOSPC
