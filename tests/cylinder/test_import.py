import importlib


def test_imports() -> None:
    assert importlib.import_module("cylinder").__name__ == "cylinder"
