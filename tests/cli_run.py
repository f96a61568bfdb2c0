"""Calling the command line from a test, as a user's shell would see it."""
from explorer.cli import main


def run(capsys, *argv):
    """main's exit status (argparse's usage errors exit 2 themselves), stdout and stderr."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return (code, *capsys.readouterr())
