"""The raw widths of what a model passes, against which every compression ratio is counted: a
feature is float32, the input image 8 bits per element (bits per element). Kept free of torch, so
that a study's bit widths (explorer.profile.bits) are read without it."""

FLOAT32_BITS = 32
INPUT_IMAGE_BITS = 8
