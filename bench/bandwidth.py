"""Achieved memory bandwidth of the GPU benchmarks, next to the device's peak (``bench/gpu_check.sh``).

Every benchmark of ``bench/test_bench_triton.py`` records in ``extra_info["bytes"]`` the memory
traffic its op needs at the least: each input read once and each output written once, in the
dtypes the Triton kernel uses. All rows of a group share that figure, so a reference's GB/s is an
effective bandwidth (the traffic the op needs over the reference's time), as in Triton's
fused-softmax tutorial; only the kernel's row says how close the op runs to the memory limit.

Peak bandwidths are datasheet figures, looked up by device name (:func:`peak_gb_s`); a device not
in :data:`PEAK_GB_S` reads "unknown".
"""

from __future__ import annotations

import torch

from write_results import fmt_time

PEAK_GB_S: list[tuple[str, float | None]] = [
    # (substring of torch.cuda.get_device_properties().name, peak DRAM bandwidth in GB/s = 1e9 B/s,
    # datasheet); the first substring found wins, so specific names stand before their prefixes
    ("GH200", None),  # memory differs between GH200 models: not guessed
    ("H200", 4800.0),
    ("H100 PCIe", 2000.0),
    ("H100 NVL", 3900.0),
    ("H100", 3350.0),  # SXM
    ("A100 80GB PCIe", 1935.0),
    ("A100-SXM4-80GB", 2039.0),
    ("A100", 1555.0),  # 40 GB, SXM4 and PCIe
    ("L40S", 864.0),
    ("L40", 864.0),
    ("L4", 300.0),
    ("A10G", 600.0),
    ("A10", 600.0),
    ("T4", 320.0),
    ("V100", 900.0),
    ("RTX 4090", 1008.0),
    ("RTX 3090", 936.0),
]


def peak_gb_s(name: str) -> float | None:
    """Datasheet peak DRAM bandwidth (GB/s) of the device called ``name``; ``None`` when unknown."""
    for pattern, peak in PEAK_GB_S:
        if pattern.lower() in name.lower():
            return peak
    return None


def tensor_bytes(*tensors: torch.Tensor) -> int:
    """Bytes that reading (or writing) each of ``tensors`` once moves."""
    return sum(t.numel() * t.element_size() for t in tensors)


def bandwidth_lines(data: dict, device: str) -> list[str]:
    """Markdown table, one row per benchmark of a pytest-benchmark JSON ``data`` that records
    ``extra_info["bytes"]``: median time, achieved GB/s and its share of ``device``'s peak."""
    peak = peak_gb_s(device)
    peak_text = "unknown" if peak is None else f"{peak:.0f} GB/s, datasheet"
    lines = [f"## Achieved memory bandwidth on {device} (peak {peak_text})", "",
             "| group | implementation | median | bytes moved | achieved | of peak |", "|---|---|---|---|---|---|"]
    rows = [b for b in data["benchmarks"] if "bytes" in b["extra_info"]]
    for b in sorted(rows, key=lambda b: b["group"] or ""):
        median = b["stats"]["median"]
        gb_s = b["extra_info"]["bytes"] / median / 1e9
        share = "unknown" if peak is None else f"{100 * gb_s / peak:.1f} %"
        lines.append(f"| {b['group']} | {b['extra_info'].get('impl', b['name'])} | {fmt_time(median)} | "
                     f"{b['extra_info']['bytes'] / 1e6:.2f} MB | {gb_s:.1f} GB/s | {share} |")
    if not rows:
        lines.append("| (no benchmark recorded its bytes) | | | | | |")
    return lines + [""]
