"""WATCH: the inbox observed, files handed on once they are whole."""
