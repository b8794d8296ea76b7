# Set-up: install the course package (with its data) when it is missing, as on Colab or a
# fresh Python, and choose the device the trainings run on. Forks: change COURSE_REPOSITORY
# here, in tools/templates/setup_cell.py, and regenerate (python3 course.py generate).
import importlib.util
import os
import subprocess
import sys

COURSE_REPOSITORY = "https://github.com/latent-spaces-course/latent-spaces"
if importlib.util.find_spec("lessonlib") is None:
    source = os.environ.get("LESSONLIB_INSTALL_FROM", f"git+{COURSE_REPOSITORY}")
    print(f"Installing the course package from {source} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)

from lessonlib.core import describe, get_device

DEVICE = get_device()  # CUDA on a GPU runtime, else Apple MPS, else the CPU
print(describe(DEVICE))
