"""dl-doctor's knowledge: one module per topic, each a set of ``@check`` functions of the Facts.

Importing this package imports every module in it, which registers every check: a new topic module needs no
line here. Each rule that encodes an outside fact (a version boundary, an error text) carries a comment citing
where it comes from.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module("%s.%s" % (__name__, _module.name))
