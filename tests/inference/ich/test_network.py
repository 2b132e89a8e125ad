"""The network's shapes, encoders, saliency maps and slice-batch independence (small inputs)."""

from __future__ import annotations

import pytest
import torch

from inference.ich.labels import LABELS
from inference.ich.network import HemorrhageNet, ModelConfig
from inference.ich.network.efficientnet import EfficientNetB0Encoder, MBConv
from inference.ich.network.vgg import VGGEncoder


def _net(**kwargs) -> HemorrhageNet:
    torch.manual_seed(0)
    return HemorrhageNet(ModelConfig(**kwargs)).eval()


def test_labels_order():
    assert LABELS == ("any", "epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")


def test_vgg_units_double_and_end_in_512_features():
    encoder = VGGEncoder()
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    widths = [c.out_channels for c in convs[1:]]
    assert widths == [32, 32, 64, 64, 128, 128, 256, 256, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    with torch.inference_mode():
        out = encoder(torch.zeros(1, 3, 256, 256))
    assert out.shape == (1, 512, 8, 8)
    assert encoder.stride == 32


def test_efficientnet_b0_has_mbconv_with_squeeze_excitation():
    encoder = EfficientNetB0Encoder()
    blocks = [m for m in encoder.modules() if isinstance(m, MBConv)]
    assert len(blocks) == 16  # 1+2+2+3+3+4+1 in EfficientNet-B0
    with torch.inference_mode():
        assert encoder(torch.zeros(1, 3, 64, 64)).shape == (1, 1280, 2, 2)


@pytest.mark.parametrize(
    "config", [{"encoder": "vgg"}, {"encoder": "efficientnet_b0", "attention_heads": 4}], ids=["vgg", "effnet-attention"]
)
@pytest.mark.parametrize("n", [1, 5])
def test_forward_shapes_for_any_sequence_length(config, n):
    net = _net(**config)
    with torch.inference_mode():
        features, feature_map = net.encode(torch.rand(n, 3, 64, 64))
        slice_logits, study_logits = net.sequence(features)
        saliency = net.saliency(feature_map)
    assert features.shape == (n, net.feature_size)
    assert slice_logits.shape == (n, 6) and study_logits.shape == (6,)
    assert saliency.shape == (n, 2, 2)
    assert float(saliency.min()) >= 0.0 and float(saliency.max()) <= 1.0
    assert (net.attention is not None) == bool(config.get("attention_heads"))


def test_saliency_is_the_cam_of_the_aux_any_logit():
    net = _net()
    with torch.inference_mode():
        features, feature_map = net.encode(torch.rand(2, 3, 64, 64))
        weight, bias = net.cam_head.weight[0], net.cam_head.bias[0]
        cam = torch.einsum("c,nchw->nhw", weight, feature_map) + bias
        # Global average pooling is linear: the CAM's mean is the auxiliary "any" logit.
        torch.testing.assert_close(cam.mean(dim=(1, 2)), net.aux_logits(features)[:, 0])
        expected = cam.relu() / (cam.relu().amax(dim=(1, 2), keepdim=True) + 1e-6)
        torch.testing.assert_close(net.saliency(feature_map), expected)


def test_encoding_in_batches_equals_encoding_at_once():
    net = _net()
    slices = torch.rand(6, 3, 64, 64)
    with torch.inference_mode():
        whole, _ = net.encode(slices)
        parts = torch.cat([net.encode(slices[i : i + 4])[0] for i in range(0, 6, 4)])
    torch.testing.assert_close(parts, whole, rtol=1e-4, atol=1e-5)


def test_study_output_depends_on_slice_order_through_the_lstm():
    net = _net()
    features = torch.rand(5, net.feature_size)
    with torch.inference_mode():
        forward = net.sequence(features)[0]
        backward = net.sequence(features.flip(0))[0].flip(0)
    assert not torch.allclose(forward, backward)


def test_config_validation():
    with pytest.raises(ValueError, match="encoder must be one of"):
        ModelConfig(encoder="resnet")
    with pytest.raises(ValueError, match="attention_heads must be 0 or divide"):
        ModelConfig(attention_heads=7)
    assert ModelConfig.from_dict({"encoder": "efficientnet_b0", "unknown": 1}).encoder == "efficientnet_b0"
