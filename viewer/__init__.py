"""The map viewer: a Bottle app (`create_app`) and a cheroot server to run it (`ViewerServer`)."""

from viewer.app import create_app
from viewer.server import ViewerServer

__all__ = ["ViewerServer", "create_app"]
