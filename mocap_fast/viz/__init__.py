"""Pictures of a lifted motion: PNG grids of the views, 3D animations, a self-contained HTML player.

``plot_views`` and ``animate`` need matplotlib (``pip install matplotlib``); ``write_html`` needs
nothing beyond numpy.
"""

from .html import write_html
from .plots import animate, plot_views

__all__ = ["animate", "plot_views", "write_html"]
