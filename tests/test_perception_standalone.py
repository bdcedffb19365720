"""``perception`` stands alone: importing any of its modules never pulls in ``agentlab`` (nor torchvision)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import importlib, pkgutil, sys
import perception
names = ["perception"] + [m.name for m in pkgutil.walk_packages(perception.__path__, "perception.")]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("agentlab", "torchvision"))
print(len(names), "modules;", "leaked:", leaked)
sys.exit(1 if leaked else 0)
"""


def test_importing_every_perception_module_leaves_agentlab_out():
    # a fresh interpreter: this test process may already hold agentlab from other tests
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split()[0]) >= 10  # the walk really found the package's modules


def test_perception_modules_do_not_mention_agentlab_imports():
    for path in (ROOT / "perception").rglob("*.py"):
        text = path.read_text()
        assert "import agentlab" not in text and "from agentlab" not in text, path
