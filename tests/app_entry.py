"""AppTest entry point: runs app.py from a folder without a ``pages/`` subfolder.

Streamlit's AppTest re-detects its legacy ``pages/`` mode before every run when the main
script's folder has a ``pages/`` folder, and then runs the current page without the frame;
starting from here avoids that, while app.py itself runs unchanged.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
