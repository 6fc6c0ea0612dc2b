"""The widgets of the stepgrad app; each renders from the state its screen pushes down."""

from .graph_view import GraphView
from .narration import Narration
from .step_panel import StepPanel, StepTitle
from .topbar import TopBar
from .values import Inspector, ValuesTable

__all__ = [
    "GraphView",
    "Inspector",
    "Narration",
    "StepPanel",
    "StepTitle",
    "TopBar",
    "ValuesTable",
]
