"""GPS tracks: reading GPX, KML/KMZ, NMEA, GeoJSON and Google Takeout into one typed value
(`model.Track`), and placing a moment on them (`interpolate`)."""
