"""The hemorrhage network (torch): slice encoders, BiLSTM sequence model, heads, exportable parts."""

from inference.ich.network.model import ENCODERS, EncoderGraph, HemorrhageNet, ModelConfig, SequenceGraph

__all__ = ["ENCODERS", "EncoderGraph", "HemorrhageNet", "ModelConfig", "SequenceGraph"]
