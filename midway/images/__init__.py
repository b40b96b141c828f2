"""Image codecs: a fast PNG encoder and decoder, grids and thumbnails (Pillow; numpy when present)."""
