"""split-explorer: profile split points, price them on hardware, search, report, export."""
