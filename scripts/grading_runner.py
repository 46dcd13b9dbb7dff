"""Execute one composed notebook; run INSIDE the grading sandbox (see scripts/grading.py).

    python grading_runner.py IN.ipynb OUT.ipynb CELL_TIMEOUT

Every cell runs with a per-cell timeout (a cell that runs over is interrupted and counts
as an error; the next cell runs), errors do not stop the run, and the executed notebook
is saved after every cell, so a run killed by the wall-time limit still leaves what it
did. Nothing here is trusted by the grader: it reads only the outputs of the cells it
placed itself and the arrays the harness cells saved.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient


def main(src: str, dst: str, cell_timeout: float) -> int:
    nb = nbformat.read(src, as_version=4)

    def save(**_):
        tmp = dst + ".part"
        nbformat.write(nb, tmp)
        os.replace(tmp, dst)

    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
    client.on_cell_executed = save
    # A cell that runs over is interrupted; say so in its outputs (nbclient records no error).
    client.error_on_timeout = {"ename": "CellTimeoutError", "traceback": [],
                               "evalue": f"the cell ran over {cell_timeout:g} s and was interrupted"}

    def on_error(cell, execute_reply, **_):
        if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            content = (execute_reply or {}).get("content", {})
            cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                "error", ename=str(content.get("ename", "Error")), evalue=str(content.get("evalue", "")),
                traceback=[str(t) for t in content.get("traceback", [])]))

    client.on_cell_error = on_error
    client.execute()
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
