import importlib


def test_imports() -> None:
    assert importlib.import_module("cylinder_runtime").__name__ == "cylinder_runtime"
