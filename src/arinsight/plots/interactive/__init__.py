"""Interactive figures (Plotly) for the notebooks and the website.

One module per notebook page, taking the frames of :mod:`arinsight.receivables`,
:mod:`arinsight.commissions`, :mod:`arinsight.forecast`, :mod:`arinsight.risk` and clean's
quarantine, returning a :class:`plotly.graph_objects.Figure`:
hovering shows the exact values, clicking a legend entry hides or shows its series, and the
figures resize with the page. In a notebook a figure is shown as Plotly's JSON output
(``application/vnd.plotly.v1+json``); the website draws that JSON with the one copy of
plotly.js it serves itself (no CDN). Figures carry no random ids, so the same data gives the same
JSON.
"""
