"""LOCATE: where a photo was taken, from its file, a track, the place names or the model."""
