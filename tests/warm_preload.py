"""Imported by the fork server of tests/warm_runner.py, once, before it forks any run: the interpreter
prepared and the libraries imported there, for every fork to inherit."""

from tests.warm_runner import prepare_fork_server

prepare_fork_server()
