"""dl-doctor's knowledge: one module per topic, each a set of ``@check`` functions of the Facts.

Importing this package registers every check. Each rule that encodes an outside fact (a version
boundary, an error text) carries a comment citing where it comes from.
"""

from . import (  # noqa: F401
    bench, course_tools, cuda, devices, dist, drift, learner, lesson, mps, notebook, ops, packages, probes, python,
    shadowing, torch_build, torch_load, widgets,
)
