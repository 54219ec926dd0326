"""Packaging for tinygrad_cs.

The repository keeps ``nn/`` and ``viz/`` at the top level, but they install as
``tinygrad_cs.nn`` and ``tinygrad_cs.viz`` (``package_dir``), so nothing generic
named ``nn`` lands in site-packages. Sub-packages of each are found automatically.
"""
from pathlib import Path

from setuptools import find_packages, setup

MAPPED = {"tinygrad_cs.nn": "nn", "tinygrad_cs.viz": "viz"}


def _packages() -> list[str]:
    packages = find_packages(include=["tinygrad_cs", "tinygrad_cs.*"])
    for package, folder in MAPPED.items():
        packages += [package] + [f"{package}.{sub}" for sub in find_packages(folder)]
    return packages


setup(
    name="tinygrad_cs",
    version="0.1.0",
    description="A reverse-mode autodiff engine for the CS231n curriculum: "
                "scalar Value and numpy Tensor on one graph, with Graphviz views",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=_packages(),
    package_dir=MAPPED,
    install_requires=[
        "numpy>=1.24",
        "numba>=0.58",
        "graphviz>=0.20",
        "graphviz-pure>=0.2",
        "hypothesis>=6.80",
        "tqdm>=4.64",
    ],
    extras_require={
        "test": ["pytest>=7.0", "scikit-learn>=1.2", "dask[distributed]>=2024.1"],
        "data": ["scikit-learn>=1.2"],
        "plot": ["matplotlib>=3.6"],
        "dask": ["dask[distributed]>=2024.1"],
        "interop": ["safetensors>=0.4"],
        "detection": ["pycocotools>=2.0"],   # only to check our mAP against COCOeval
    },
    entry_points={"console_scripts": ["tgcs = tinygrad_cs.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Education",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
