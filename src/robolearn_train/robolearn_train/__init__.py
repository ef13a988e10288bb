"""Console scripts to train and evaluate policies (fit, evaluate) and to inspect datasets."""
