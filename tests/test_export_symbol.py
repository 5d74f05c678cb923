"""export_symbol: reloadable files, manifest, determinism; prefixes as export_onnx sources."""
import mxnet as mx
import numpy as np
import onnx
from mxnet.gluon import nn

import export
from export import verify
from export.files import manifest
from test_export_onnx import bn_net, run


def test_export_symbol_roundtrip_and_manifest(tmp_path):
    net = nn.HybridSequential(prefix="fresh_")  # not initialized: export_symbol does it
    with net.name_scope():
        net.add(nn.Conv2D(3, 3), nn.BatchNorm(), nn.Dense(4))
    paths = export.export_symbol(net, str(tmp_path / "sub" / "m"), input_shape=(1, 2, 6, 6))
    x = mx.nd.random.uniform(shape=(2, 2, 6, 6))
    reloaded = verify.reload_symbol(str(tmp_path / "sub" / "m"), ctx=mx.cpu())
    np.testing.assert_allclose(reloaded(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)
    info = manifest.read(paths["manifest"])
    assert info["inputs"][0] == {"name": "data", "shape": [1, 2, 6, 6], "dtype": "float32",
                                 "layout": "NCHW"}
    assert info["outputs"][0]["shape"] == [1, 4]
    assert info["weights"] == {"trained": False, "source": None, "seed": 0}
    assert set(info["files"]) == {"m-symbol.json", "m-0000.params"}
    assert info["files"]["m-0000.params"]["sha256"] == export.files.io.sha256_file(paths["params"])


def test_export_symbol_is_deterministic(tmp_path):
    net = bn_net()
    paths = [export.export_symbol(net, str(tmp_path / d / "m"), input_shape=(1, 2, 8, 8))
             for d in ("a", "b")]
    for key in ("symbol", "params"):
        assert open(paths[0][key], "rb").read() == open(paths[1][key], "rb").read()



def test_prefix_source_uses_its_manifest(tmp_path):
    """A prefix written by export_symbol needs no input_shape and keeps the zoo metadata."""
    class Config:
        input_shape, classes, mean, std = (2, 8, 8), 5, (0.5, 0.5), (0.2, 0.2)
        labels, dataset, resize = tuple("abcde"), "toy", None
    net = bn_net()
    net.zoo_name, net.zoo_config = "toynet", Config()
    export.export_symbol(net, str(tmp_path / "toynet"))
    export.export_onnx(str(tmp_path / "toynet"), tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["model"] == "toynet" and props["labels"] == '["a", "b", "c", "d", "e"]'
    x = np.random.RandomState(0).uniform(size=(2, 2, 8, 8)).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    assert verify.max_error([want], run(tmp_path / "m.onnx", x)) <= verify.tolerance([want])


class _CountsTraces(mx.gluon.HybridBlock):
    """A conv net that counts the symbolic traces of its forward (``F`` is ``mx.sym``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.traces = 0
        with self.name_scope():
            self.conv = nn.Conv2D(3, 3, in_channels=2)
            self.bn = nn.BatchNorm(in_channels=3)

    def hybrid_forward(self, F, x):
        self.traces += F is mx.sym
        return self.bn(self.conv(x)).relu()


def test_an_artifact_in_both_formats_traces_the_block_once(tmp_path):
    from export.artifacts.package import export_artifact
    net = _CountsTraces()
    net.initialize()
    artifact = export_artifact(net, str(tmp_path), name="counts", input_shape=(2, 8, 8), check=False)
    assert sorted(artifact.manifest["files"]) == ["counts-0000.params", "counts-symbol.json", "model.onnx"]
    assert net.traces == 1
