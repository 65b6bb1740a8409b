"""Self-contained HTML reports that open inside Jenkins.

Jenkins' HTML Publisher serves pages under `sandbox; default-src 'none'; img-src 'self';
style-src 'self';`: no JavaScript, no inline style, nothing from the network. So a page here is
plain HTML with one CSS file beside it and its plots as SVG files beside it (matplotlib: already
the Python ecosystem's plotting library, renders offline, writes SVG without a browser).
"""
