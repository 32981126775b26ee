"""Start-up stays light: `import lowfi` and building the CLI parser load no heavy library."""

import subprocess
import sys

HEAVY = ("scipy", "pandas", "matplotlib", "ConfigSpace", "rich", "sklearn", "torch")


def _loaded(code: str) -> list[str]:
    probe = code + f"\nimport sys\nprint('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("loaded:")][-1]
    return [m for m in line[len("loaded:"):].split(",") if m]


def test_import_lowfi_loads_no_heavy_module():
    assert _loaded("import lowfi") == []


def test_cli_parser_loads_no_heavy_module():
    assert _loaded("import lowfi.cli\nlowfi.cli.build_parser()") == []


def test_lazy_names_still_resolve():
    code = ("import lowfi\n"
            "assert lowfi.Space.__name__ == 'Space'\n"
            "assert callable(lowfi.minimize) and lowfi.Study.__name__ == 'Study'\n"
            "from lowfi.nas import ModelSpec\n"
            "from lowfi.analysis import regret\n"
            "assert 'pandas' in sys.modules\n")
    subprocess.run([sys.executable, "-c", "import sys\n" + code], check=True)


def test_version_flag():
    import lowfi

    out = subprocess.run([sys.executable, "-m", "lowfi.cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"lowfi {lowfi.__version__}"


def test_show_loads_no_optimizer_stack(tmp_path):
    """`lowfi show RUN.db` reads the journal with pandas and rich only."""
    run = tmp_path / "run.db"
    subprocess.run([sys.executable, "-c", (
        "import lowfi\n"
        "lowfi.minimize(lambda c, b: c['x'] ** 2, {'x': (-1.0, 1.0)}, 'hyperband', min_budget=1,\n"
        f"               max_budget=9, max_evaluations=5, storage={str(run)!r}, progress=False)\n")],
        check=True, capture_output=True)
    loaded = _loaded(f"import lowfi.cli\nassert lowfi.cli.main(['show', {str(run)!r}]) == 0")
    assert not {"scipy", "matplotlib", "ConfigSpace", "sklearn", "torch"} & set(loaded), loaded
