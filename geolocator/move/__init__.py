"""MOVE: filing a photo into its folder without ever overwriting, across crashes."""
