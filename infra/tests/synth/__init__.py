# A package of its own so its conftest is ``tests.synth.conftest``: the repository's tests/conftest.py is
# ``tests.conftest`` and two conftest modules of one name cannot both load in one pytest run (make test).
