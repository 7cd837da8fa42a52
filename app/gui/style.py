"""The app's look: one style sheet for the main window and everything in it.

Screens name their widgets (``title``, ``hint``, ``primary``…) instead of styling them
one by one, so a screen looks like the others without repeating the colours.
"""

# Grey text for what is left out or gone: 5.3:1 on white (#777 and #888 were 4.5 and 3.5,
# Qt's gray 2.6: under the 4.5:1 that small text needs, an accessibility audit found)
MUTED = "#6b6b6b"

STYLE = """
QLabel#title { font-size: 18pt; font-weight: 600; margin-bottom: 4px; }
QLabel#subtitle { font-size: 12pt; }
QLabel#hint { color: #666; }
QLabel#summary { color: #333; padding: 4px 2px; font-weight: 500; }
QLabel#bignumber { font-size: 13pt; padding: 4px 0; }
QFrame#card { background: palette(base); border: 1px solid #d0d0d0; border-radius: 8px; }
QListWidget#nav { background: #23303d; color: #dfe6ec; border: none; font-size: 11pt;
                  padding-top: 8px; outline: 0; }
QListWidget#nav::item { padding: 10px 14px; }
QListWidget#nav::item:selected { background: #3d5a73; color: white; }
QListWidget#nav::item:disabled { color: #6f7f8d; }
QListWidget#nav::item:focus { border: 2px solid #9ecbff; border-radius: 3px; }
QListWidget#channels::item { padding: 6px 4px; }
QPushButton#primary { background: #2e7d32; color: white; font-weight: 600;
                      padding: 6px 18px; border-radius: 4px; }
QPushButton#primary:disabled { background: #9bbf9d; }
QPushButton#primary:focus { border: 2px solid #1b1b1b; padding: 4px 16px; }
"""
