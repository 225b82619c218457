"""What a run leaves besides thumbnails: its tally, failure lines and summary, the
manifest, the gallery, the Markdown report, the spool of entries they are written
from, and the desktop's thumbnail cache (``--xdg-cache``). Nothing is imported here:
the gallery and the desktop cache are imported only when a run asks for them."""
