"""The hemorrhage network (torch): slice encoders, BiLSTM sequence model, heads, exportable parts."""

from inference.network.model import ENCODERS, EncoderGraph, HemorrhageNet, ModelConfig, SequenceGraph

__all__ = ["ENCODERS", "EncoderGraph", "HemorrhageNet", "ModelConfig", "SequenceGraph"]
