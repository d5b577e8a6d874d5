# Makes this a package so pytest (--import-mode=importlib) names the module ``tests.test_stack``.
# Without it pytest derives ``infra.tests.test_stack`` from the rootdir and registers the bare
# ``infra/`` directory as the ``infra`` module, shadowing the real package in ``infra/src/infra``.
