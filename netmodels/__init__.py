"""torch side of split-explorer: model zoo, split models, methods, channels, codecs, data, recipes."""
