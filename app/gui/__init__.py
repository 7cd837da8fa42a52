"""Qt widgets over app.core."""
