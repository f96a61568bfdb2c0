"""The README.md of an export folder: how to load and call the parts without split-explorer."""
from __future__ import annotations

from pathlib import Path

from explorer.deploy.config import DeployConfig
from splitbase.files import write_atomic


def readme_text(config: DeployConfig) -> str:
    """Markdown: what the folder holds, then ten lines of Python that run one image through both halves."""
    prep, device, server = config.preprocessing, config.programs.device, config.programs.server
    boundary = ", ".join(f"`{t.name}` {t.shape} {t.dtype}" for t in device.outputs)
    return f"""# {config.study}, trial {config.trial}: {config.model} split after `{config.split.unit}`

Device half: `{config.files.device_onnx}` (ONNX, opset {config.programs.onnx_opset}) or `{config.files.device}`
(torch.export), called as `{device.call}`; server half: `{config.files.server_onnx}` or `{config.files.server}`,
called as `{server.call}`. Boundary tensors: {boundary}. The device program takes x alone (its
encoder's channel state is fixed at {config.channel_state:g}). Between them: codec `{config.wire['codec']}` as
`config.json` `wire` says. Input: uint8 {prep.channel_order}, zero-padded centred to {prep.input_shape},
x = (image * {prep.scale:.6g} - mean) / std, float32 {prep.layout}. Run both halves over TCP with
`python {config.files.runner} server --listen 5000` and
`python {config.files.runner} device --connect HOST:5000 --images FILE.npz` (numpy, onnxruntime, Pillow).

```python
import json, numpy as np, onnxruntime as ort                        # or: torch.export.load("{config.files.device}").module()
cfg = json.load(open("config.json")); p = cfg["preprocessing"]
device = ort.InferenceSession("{config.files.device_onnx}"); server = ort.InferenceSession("{config.files.server_onnx}")
image = np.zeros((1, 28, 28), np.uint8)                              # one uint8 image, C x h x w
c, h, w = p["input_shape"]; top, left = (h - image.shape[1]) // 2, (w - image.shape[2]) // 2
x = np.full((1, c, h, w), p["pad_value"], np.float32); x[0, :, top:top + image.shape[1], left:left + image.shape[2]] = image
x = ((x * p["scale"] - np.reshape(p["mean"], (1, c, 1, 1))) / np.reshape(p["std"], (1, c, 1, 1))).astype(np.float32)
sent = device.run(None, {{"x": x}})                                    # [z] or [z, lo, span]: the boundary tensors
names = [t["name"] for t in cfg["programs"]["server"]["inputs"]]     # the link (cfg["wire"]) runs between here
print(server.run(None, dict(zip(names, sent)))[0].argmax(1))         # the predicted class
```
"""


def write_readme(config: DeployConfig, path: Path) -> Path:
    return write_atomic(path, lambda f: f.write(readme_text(config).encode()))
