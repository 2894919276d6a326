"""How big a benchmark run is: read once from BENCH_* environment variables."""

import os
from dataclasses import dataclass, fields

# What BENCH_SECTIONS may name; "instructions" runs only when named.
SECTIONS = ("ingest", "freshness", "import", "scale", "instructions")

# BENCH_SIZE picks a preset; any BENCH_<FIELD> variable overrides one field of it.
PRESETS: dict[str, dict[str, object]] = {
    "full": {},
    # CI's smoke run: every figure is produced, in a minute or two.
    "tiny": {
        "seconds": 2.0,
        "accounts": 60,
        "freshness_seconds": 3.0,
        "burst_objects": 20,
        "import_accounts": 300,
        "import_large_accounts": 600,
        "idle_seconds": 3.0,
        "change_rate": 20.0,
        "scale": (1,),
        "instruction_syncs": 5,
    },
}


@dataclass(frozen=True)
class Sizes:
    """Every knob of a run; the defaults are the full run of docs/performance.md."""

    db: str = "postgres"  # or "sqlite"
    database_url: str = "postgres://postgres@127.0.0.1:5432/zuora_sync_bench"
    seconds: float = 10.0  # each saturation and fixed-rate measurement
    web_workers: int = 2
    workers: int = 2
    rate: float = 500.0  # callouts per second offered for the latency figure
    connections: int = 64  # wrk connections at saturation
    accounts: int = 500  # seeded for freshness and the bursts
    api_latency_ms: float = 200.0
    change_rate: float = 100.0
    freshness_seconds: float = 20.0
    burst_objects: int = 100
    burst_callouts: int = 10
    burst_window_ms: float = 100.0
    import_accounts: int = 10_000
    import_large_accounts: int = 50_000
    idle_seconds: float = 10.0
    scale: tuple[int, ...] = (1, 2, 4)
    worker_interval: float | None = None  # None: the launcher's default
    # The emulator's callouts send their credentials at once (docs/zuora_callouts.md);
    # off, each is first answered 401, as with Zuora's default.
    callout_preemptive: bool = True
    instruction_syncs: int = 100  # syncs of each kind counted by callgrind
    # Which to run, comma-separated; "instructions" (callgrind) only when asked for.
    sections: str = "ingest,freshness,import,scale"

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "Sizes":
        environ = dict(os.environ if environ is None else environ)
        preset = environ.get("BENCH_SIZE", "full")
        if preset not in PRESETS:
            raise ValueError(f"BENCH_SIZE must be one of {', '.join(PRESETS)}; got {preset!r}")
        values: dict[str, object] = dict(PRESETS[preset])
        for item in fields(cls):
            raw = environ.get(f"BENCH_{item.name.upper()}")
            if raw is None or raw == "":
                continue
            values[item.name] = _parse(item.name, raw, getattr(cls, item.name))
        sizes = cls(**values)  # type: ignore[arg-type]
        unknown = set(sizes.sections.split(",")) - set(SECTIONS)
        if unknown:
            raise ValueError(f"BENCH_SECTIONS: unknown {', '.join(sorted(unknown))}")
        if sizes.db not in {"postgres", "sqlite"}:
            raise ValueError(f"BENCH_DB must be postgres or sqlite; got {sizes.db!r}")
        return sizes


def _parse(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, tuple):
            return tuple(int(part) for part in raw.split(",") if part.strip())
        if isinstance(default, bool):
            return _switch(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float) or default is None:
            return float(raw)
    except ValueError as error:
        raise ValueError(f"BENCH_{name.upper()}: {error}") from None
    return raw


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off; got {raw!r}")
