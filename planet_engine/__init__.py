"""PlaNet geolocation engine: adaptive S2 partition, cell classifier, evaluation and prediction.

Pure PyTorch and NumPy; it never imports Django, so the game and offline research share it unchanged.
"""
