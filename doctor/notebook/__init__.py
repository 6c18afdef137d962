"""dl-doctor inside a notebook: ``%load_ext doctor`` registers the ``%doctor`` line magic.

IPython is imported only here, when a kernel loads the extension; the engine never needs it.
"""
