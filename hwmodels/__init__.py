"""Analytic hardware models for split computing (no torch): the 004 MAC-array engine with its
DRAM and JPEG encoder, roofline devices and servers, radios and channels, the two-stage pipeline,
and a catalog of presets in which every number carries its source.

    from hwmodels import load_preset, split_cost
    engine = load_preset("engine-28nm-144mac", overrides={"clock_hz": 5e8})
    radio = load_preset("wifi-80211bgn-004:22mbps")
"""
from hwmodels.catalog import (
    KINDS,
    PRESET_DIR,
    PresetInfo,
    list_presets,
    load_preset,
    load_preset_file,
    preset_names,
    read_preset_file,
)
from hwmodels.costs import Device, MemoryCheck, MemoryLimit, StageCost, priced_actions
from hwmodels.engine import Dram, MacArrayEngine
from hwmodels.links import (
    AwgnLink,
    BecLink,
    BscLink,
    Link,
    LoRaLink,
    RadioLink,
    bec_capacity_bit_per_use,
    binary_entropy,
    bsc_capacity_bit_per_use,
    lora_bit_rate_bit_per_s,
    shannon_capacity_bit_per_s,
)
from hwmodels.params import HardwareModel, Param, Preset
from hwmodels.pipeline import PipelineCost, split_cost, two_stage_pipeline
from hwmodels.present import describe_preset, format_preset_list
from hwmodels.roofline import RooflineDevice

__all__ = [
    "KINDS", "PRESET_DIR", "AwgnLink", "BecLink", "BscLink", "Dram",
    "Device", "HardwareModel", "Link", "LoRaLink", "MacArrayEngine", "MemoryCheck", "MemoryLimit",
    "Param", "PipelineCost", "Preset", "PresetInfo", "RadioLink", "RooflineDevice", "StageCost",
    "bec_capacity_bit_per_use", "binary_entropy", "bsc_capacity_bit_per_use", "describe_preset",
    "format_preset_list", "list_presets", "load_preset", "load_preset_file",
    "lora_bit_rate_bit_per_s", "priced_actions", "preset_names", "read_preset_file", "shannon_capacity_bit_per_s",
    "split_cost", "two_stage_pipeline",
]
