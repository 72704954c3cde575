"""When dlib or its models cannot be loaded, identity scoring says so in one sentence and the
rest keeps working; importing the package never loads dlib (start-up stays fast)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from studio.identity import (
    DlibFaceAnalyser,
    IdentityImageError,
    IdentityScorer,
    IdentityUnavailable,
    identity_unavailable_reason,
)

PREFIX = "identity scoring is not available on this system ("


def importer_without(
    *missing: str, fake: dict[str, ModuleType] | None = None,
) -> Callable[[str], ModuleType]:
    """An importer as on a system where ``missing`` modules cannot be loaded."""

    def load(name: str) -> ModuleType:
        if name in missing:
            raise ImportError(f"No module named {name!r}")
        if fake and name in fake:
            return fake[name]
        return importlib.import_module(name)

    return load


def test_on_this_system_identity_scoring_is_available() -> None:
    assert identity_unavailable_reason() is None


def test_without_dlib_the_reason_is_one_sentence() -> None:
    reason = identity_unavailable_reason(importer_without("dlib"))
    assert reason is not None and reason.startswith(PREFIX)
    assert "dlib cannot be loaded: No module named 'dlib'" in reason
    assert "\n" not in reason and "Traceback" not in reason


def test_a_native_library_that_fails_to_load_is_reported_too() -> None:
    def broken(name: str) -> ModuleType:
        if name == "dlib":
            raise OSError("libdlib.so: cannot open shared object file")
        return importlib.import_module(name)

    reason = identity_unavailable_reason(broken)
    assert reason is not None and "cannot open shared object file" in reason


def test_without_the_models_package_the_reason_names_it() -> None:
    reason = identity_unavailable_reason(importer_without("face_recognition_models"))
    assert reason is not None and reason.startswith(PREFIX)
    assert "face models package" in reason


def test_a_models_package_without_the_files_is_reported(tmp_path: Path) -> None:
    package = tmp_path / "empty_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    spec = importlib.util.spec_from_file_location("empty_models", package / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reason = identity_unavailable_reason(
        importer_without(fake={"face_recognition_models": module}))
    assert reason is not None
    assert "the face model shape_predictor_5_face_landmarks.dat is missing" in reason


def test_a_corrupt_model_file_is_reported_when_loading(tmp_path: Path) -> None:
    package = tmp_path / "bad_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in ("shape_predictor_5_face_landmarks.dat",
                 "dlib_face_recognition_resnet_model_v1.dat"):
        (package / "models" / name).write_bytes(b"not a model")
    spec = importlib.util.spec_from_file_location("bad_models", package / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    analyser = DlibFaceAnalyser(importer=importer_without(fake={"face_recognition_models": module}))
    with pytest.raises(IdentityUnavailable, match=r"the face models cannot be read"):
        analyser.load()


def test_the_scorer_raises_a_typed_error_carrying_the_sentence() -> None:
    scorer = IdentityScorer(DlibFaceAnalyser(importer=importer_without("dlib")))
    with pytest.raises(IdentityUnavailable) as caught:
        scorer.analysis(b"any image")
    assert str(caught.value) == identity_unavailable_reason(importer_without("dlib"))


def test_a_missing_image_file_is_a_sentence(tmp_path: Path) -> None:
    scorer = IdentityScorer(DlibFaceAnalyser(importer=importer_without("dlib")))
    with pytest.raises(IdentityImageError, match=r"cannot read the image .*nowhere\.png"):
        scorer.analysis_of_file(tmp_path / "nowhere.png")


def test_importing_identity_loads_nothing_heavy() -> None:
    """dlib, numpy, Pillow and multiprocessing load on the first analysis, not at start-up."""
    code = ("import sys, studio.identity; "
            "heavy = ('dlib', '_dlib_pybind11', 'numpy', 'PIL', 'multiprocessing'); "
            "loaded = [m for m in heavy if m in sys.modules]; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
