"""The house's rules, executable: which package may import which, and one exception family."""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILTIN_ERRORS = {"ValueError", "TypeError", "RuntimeError", "NotImplementedError", "FileNotFoundError",
                  "OSError", "KeyError", "IndexError", "ImportError", "ChildProcessError"}


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def _imported_modules(path):
    """Absolute names of the modules ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text())
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _loaded_after_import(module):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("path", _modules("hybridzoo"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_zoo_never_imports_the_compiler(path):
    assert not [m for m in _imported_modules(path) if m == "export" or m.startswith("export.")]


@pytest.mark.parametrize("path", _modules("export"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_compiler_never_imports_the_zoo(path):
    assert not [m for m in _imported_modules(path) if m == "hybridzoo" or m.startswith("hybridzoo.")]


def test_importing_export_loads_no_zoo_and_no_mxnet():
    loaded = _loaded_after_import("export")
    assert not {m for m in loaded if m.split(".")[0] in ("hybridzoo", "mxnet")}


def test_the_deployment_side_loads_neither_mxnet_nor_the_converter():
    loaded = _loaded_after_import("export.deploy.runtime")
    assert "mxnet" not in loaded and "export.onnx" not in loaded


@pytest.mark.parametrize("path", _modules("export"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_compiler_raises_only_its_own_family(path):
    """``raise ValueError(...)`` and friends bypass ``ExportError``: callers catching the family miss them."""
    raised = [node.exc.func.id for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
              and isinstance(node.exc.func, ast.Name) and node.exc.func.id in BUILTIN_ERRORS]
    assert not raised, f"{path.name} raises {raised}: raise a subclass from export.errors"


def test_every_error_class_of_the_compiler_is_in_the_family():
    import export.errors as errors
    import export.deploy.preprocess as preprocess
    import export.onnx as onnx_api
    for cls in (*[getattr(errors, n) for n in errors.__all__], preprocess.InputError,
                onnx_api.UnsupportedOperatorError):
        assert issubclass(cls, errors.ExportError), cls


def _private_imports(path):
    """``pkg._private`` modules that ``path`` imports from outside ``pkg``."""
    own = {"tools": "hybridzoo_tools"}.get(path.relative_to(ROOT).parts[0], path.relative_to(ROOT).parts[0])
    for module in _imported_modules(path):
        parts = module.split(".")
        for i, part in enumerate(parts[1:], 1):
            if part.startswith("_") and not part.startswith("__") and parts[0] != own:
                yield ".".join(parts[:i + 1])
                break


@pytest.mark.parametrize("path", [p for d in ("tools", "hybridzoo", "export") for p in _modules(d)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_package_imports_another_packages_private_modules(path):
    assert not sorted(set(_private_imports(path)))


@pytest.mark.parametrize("path", _modules("tools"), ids=lambda p: str(p.relative_to(ROOT)))
def test_tools_share_one_cli_module_instead_of_copying_the_path_fix(path):
    source = path.read_text()
    assert "sys.path[:]" not in source or path.name == "_cli.py"
    assert "spec_from_file_location" not in source, "import siblings as hybridzoo_tools.<name>"


def test_the_zoo_keeps_production_code_out_of_its_test_helpers():
    users = [p for d in ("hybridzoo", "tools") for p in _modules(d)
             if "hybridzoo/testing" not in str(p) and any(m == "hybridzoo.testing" or m.startswith("hybridzoo.testing.")
                                                          or m.endswith("..testing") for m in _imported_modules(p))]
    allowed = {"bench_nlp.py", "bench_detection.py", "detector_sweep.py", "nlp_sweep.py", "gluon_sweep.py",
               "numpy_table.py", "bench_precision.py"}  # test-weight sweeps and benchmarks (random weights)
    assert not [p.name for p in users if p.name not in allowed]


def _import_graph(packages=("hybridzoo", "export", "tools")):
    """``{module: {modules of this repo it imports}}`` over the packages' files."""
    def module_of(path):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        parts[0] = {"tools": "hybridzoo_tools"}.get(parts[0], parts[0])
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    paths = {module_of(p): p for d in packages for p in _modules(d)}
    return {name: {m for m in _imported_modules(path) if m in paths and m != name} for name, path in paths.items()}


def test_no_import_cycles_between_modules():
    """Package faces (``__init__``) excluded: a package importing its own submodules is no cycle."""
    graph = _import_graph()
    faces = {name for name in graph if (ROOT / name.replace("hybridzoo_tools", "tools").replace(".", "/")
                                        / "__init__.py").exists()}
    graph = {n: deps - faces for n, deps in graph.items() if n not in faces}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


@pytest.mark.parametrize("path", _modules("export/files"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_floor_of_export_imports_nothing_above_it(path):
    """``export/files/`` (atomic io, staging, manifests, versions) is the floor: it may use only
    itself and the exception family."""
    own = [m for m in _imported_modules(path) if m.startswith("export.")]
    assert all(m.startswith(("export.files", "export.errors")) for m in own), own


@pytest.mark.parametrize("path", [p for p in _modules("export") if "artifacts" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_top_of_export_builds_artifact_folders(path):
    """``export/artifacts/`` (the model folder, its Triton layout) is the top: nothing below imports it."""
    assert not [m for m in _imported_modules(path) if m.startswith("export.artifacts")]
