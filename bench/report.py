"""Samples, ratios and the printed tables (Markdown, so they paste into docs/benchmarks.md)."""

import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """What one side did: `units` (operations or rows) in `wall` seconds, and each call's time."""

    units: int
    wall: float
    latencies: Sequence[float]

    @property
    def rate(self) -> float:
        return self.units / self.wall

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds (with few samples p99 is the slowest)."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    @staticmethod
    def merge(samples: Sequence["Sample"]) -> "Sample":
        """Pool the rounds of one side: total units over total time, every latency."""
        return Sample(
            units=sum(s.units for s in samples),
            wall=sum(s.wall for s in samples),
            latencies=[latency for s in samples for latency in s.latencies],
        )


@dataclass(frozen=True)
class Comparison:
    """provisio against the bare-driver reference, same work, same run, same database."""

    benchmark: str
    engine: str
    writers: int
    unit: str
    reference: Sample
    provisio: Sample

    @property
    def ratio(self) -> float:
        """provisio's throughput as a share of the reference's (1.0 = at the raw limit)."""
        return self.provisio.rate / self.reference.rate


def _latency(sample: Sample) -> str:
    return f"{sample.percentile(50):.2f} / {sample.percentile(99):.2f}"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(w) if cell[:1].isdigit() else cell.ljust(w)
            for cell, w in zip(cells, widths, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def table(comparisons: Sequence[Comparison]) -> str:
    header = (
        "benchmark",
        "engine",
        "writers",
        "raw rate",
        "provisio rate",
        "ratio",
        "raw p50 / p99 ms",
        "provisio p50 / p99 ms",
    )
    rows = [
        (
            c.benchmark,
            c.engine,
            str(c.writers),
            f"{c.reference.rate:,.0f} {c.unit}",
            f"{c.provisio.rate:,.0f} {c.unit}",
            f"{c.ratio:.2f}",
            _latency(c.reference),
            _latency(c.provisio),
        )
        for c in comparisons
    ]
    return _markdown(header, rows)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine(engine_versions: dict[str, str], load: tuple[float, float, float]) -> str:
    """Where the figures came from: they mean nothing without it."""
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("provisio", "sqlalchemy", "asyncpg", "aiosqlite")
    )
    facts = {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": _cpu_model(),
        "RAM": _memory(),
        "OS": f"{platform.system()} {platform.release()}",
        "load average before the run (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
        "Python": sys.version.split()[0],
        **{f"{engine} version": v for engine, v in engine_versions.items()},
        "packages": packages,
    }
    return "\n".join(f"- {key}: {value}" for key, value in facts.items())
