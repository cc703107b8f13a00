"""Sphinx settings of the course website; book/build.py stages the pages and calls Sphinx with them.

The notebooks arrive executed, so MyST-NB only renders them. Nothing is fetched from the network,
while building or while reading: MathJax is copied into the site from the sphinx-mathjax-offline
package, the theme ships its own fonts and icons, and no widget scripts are added.
"""
project = "gluon_lessons"
author = "gluon_lessons authors"
copyright = "the gluon_lessons authors, Apache-2.0"

extensions = ["myst_nb", "sphinx_design", "sphinx-mathjax-offline"]
exclude_patterns = ["downloads/**"]

nb_execution_mode = "off"  # book/build.py executed every lesson once, measuring time and memory
nb_ipywidgets_js = {}  # widget managers load from a CDN; the lessons draw no widgets
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]  # colon fences: titles may hold `code`
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "gluon_lessons"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "use_download_button": False,  # each lesson page has its own line of downloads under the title
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_context = {"default_mode": "auto"}  # light or dark as the reader's system prefers
html_copy_source = False  # the downloads under each title are the sources
html_show_sourcelink = False
html_favicon = "_static/favicon.svg"  # a loss curve and a ball; without one browsers ask for /favicon.ico
