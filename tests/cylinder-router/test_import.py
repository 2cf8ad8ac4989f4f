import importlib


def test_imports() -> None:
    assert importlib.import_module("cylinder_router").__name__ == "cylinder_router"
