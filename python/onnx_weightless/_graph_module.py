"""The GraphModule convert() returns: its Python code is generated when first needed.

torch.fx generates and compiles a GraphModule's ``forward`` source as soon as it is constructed,
about a third of a conversion's time. What most users do next never runs that code:
meta_forward, propagate_shapes and inspect interpret the graph node by node, and analysis tools
walk ``gm.graph``. torch's own lazy GraphModule (the one torch.compile builds) defers the code
until ``gm(...)``, ``gm.code`` or printing asks for it. It is a GraphModule subclass; where a
torch release lacks it, the module is built eagerly.
"""

from __future__ import annotations

from torch import fx, nn

__all__ = ["GraphModuleBase", "graph_module"]

try:
    from torch.fx._lazy_graph_module import _LazyGraphModule as _Lazy
except ImportError:  # pragma: no cover - depends on the torch release
    _Lazy = None

if _Lazy is not None and not (isinstance(_Lazy, type) and issubclass(_Lazy, fx.GraphModule)):
    _Lazy = None  # pragma: no cover - a torch release that changed it


#: The class converted graphs are built as (a subclass of it, for ``module_class``).
GraphModuleBase: type[fx.GraphModule] = _Lazy or fx.GraphModule


def graph_module(root: nn.Module, graph: fx.Graph, module_class: type[fx.GraphModule] | None = None) -> fx.GraphModule:
    return (module_class or GraphModuleBase)(root, graph)
