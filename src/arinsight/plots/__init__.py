"""Figures for the notebooks and the site (matplotlib/seaborn), one module per page.

All figures use :func:`arinsight.plots._style.apply_style`: one palette, readable labels, currency
tick formatting, and no timestamps in saved files (``save_figure`` strips the metadata).
"""
