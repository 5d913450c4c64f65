"""Where a photo is: the one owner of every change of a photo's location."""
