"""Reports: the performance model and backtesting.py's statistics, computed without any I/O."""
