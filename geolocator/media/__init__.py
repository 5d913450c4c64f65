"""Decoding pictures and videos, bounded: upright copies, thumbnails, first frames."""
