"""Samples, ratios and the printed tables (Markdown, so they paste into docs/benchmarks.md)."""

import math
import os
import platform
import subprocess
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
    cpu: float | None = None
    """CPU seconds the bench process spent on it, where measured (a server's is not in it)."""

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
            cpu=None if any(s.cpu is None for s in samples) else sum(s.cpu or 0 for s in samples),
        )

    @property
    def cpu_per_unit(self) -> float | None:
        """Milliseconds of CPU per unit."""
        return None if self.cpu is None else self.cpu / self.units * 1000


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
    return _markdown(header, [_cells(c) for c in comparisons])


def _cells(c: Comparison) -> tuple[str, ...]:
    """A throughput comparison's cells, in the column order both throughput tables share."""
    return (
        c.benchmark,
        c.engine,
        str(c.writers),
        f"{c.reference.rate:,.0f} {c.unit}",
        f"{c.provisio.rate:,.0f} {c.unit}",
        f"{c.ratio:.2f}",
        _latency(c.reference),
        _latency(c.provisio),
    )


@dataclass(frozen=True)
class LatencyComparison:
    """An end-to-end latency under a fixed load against a reference latency, same run."""

    benchmark: str
    engine: str
    load: str
    reference_name: str
    reference: Sample
    provisio: Sample
    target_p99_ms: float

    @property
    def ratio(self) -> float:
        """The reference's p99 as a share of provisio's (1.0 = provisio adds nothing)."""
        return self.reference.percentile(99) / self.provisio.percentile(99)


def _cpu(sample: Sample) -> str:
    per_unit = sample.cpu_per_unit
    return "-" if per_unit is None else f"{per_unit:.3f}"


def cpu_table(comparisons: Sequence[Comparison], concurrency: str, whose_cpu: str) -> str:
    """Throughput rows with the CPU per unit each side spent (in `whose_cpu`)."""
    header = (
        "benchmark",
        "engine",
        concurrency,
        "reference rate",
        "provisio rate",
        "ratio",
        "reference p50 / p99 ms",
        "provisio p50 / p99 ms",
        f"{whose_cpu} CPU ms/unit ref / provisio",
    )
    rows = [(*_cells(c), f"{_cpu(c.reference)} / {_cpu(c.provisio)}") for c in comparisons]
    return _markdown(header, rows)


def latency_table(comparisons: Sequence[LatencyComparison]) -> str:
    header = (
        "benchmark",
        "engine",
        "load",
        "reference",
        "reference p50 / p99 ms",
        "provisio p50 / p99 ms",
        "ratio (p99)",
        "target p99 ms",
    )
    rows = [
        (
            c.benchmark,
            c.engine,
            c.load,
            c.reference_name,
            _latency(c.reference),
            _latency(c.provisio),
            f"{c.ratio:.2f}",
            f"{c.target_p99_ms:g}"
            + (" ✓" if c.provisio.percentile(99) <= c.target_p99_ms else " ✗"),
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


def _source() -> str:
    """Which provisio was measured: its directory, and its git commit when it is a checkout
    (with a warning when src/ has uncommitted changes, which no one can re-run)."""
    import provisio

    where = Path(provisio.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(where)
    return f"{where} at {commit}" + (" with uncommitted changes" if dirty else "")


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
        "provisio source": _source(),
    }
    return "\n".join(f"- {key}: {value}" for key, value in facts.items())
