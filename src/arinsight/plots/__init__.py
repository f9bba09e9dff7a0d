"""Figures and tables for the notebooks, the website and the e-mails.

- :mod:`~arinsight.plots.interactive`: the figures (Plotly), one module per notebook page;
- :mod:`~arinsight.plots.tables`: one table style (escaped static HTML) everywhere;
- :mod:`~arinsight.plots.style`: the palette every figure and e-mail shares.
"""
