"""Benchmark: BG/NBD + Gamma-Gamma fits on 1M customers, ours against lifetimes and
pymc-marketing (MAP), in the same run, with the fitted parameters compared.

    .venv/bin/python bench/fit_models.py [--customers 1000000 [100000 ...]] [--repeat 5]
        [--peer-repeat 5] [--tools ours lifetimes ...] [--out bench/results/fit.md]

One command on a fresh clone: the peers are installed only in their own environment,
``bench/.cache/venv-peers`` (``python3.11 -m venv`` + ``pip install -r
bench/requirements-peers.txt``), which the script creates on first run and rebuilds when the
requirements file changes; the app's ``.venv`` never sees them.

Data: the sample shop (``retention.sample.generate_sample``, seed 42) with N registered
customers, summarised by ``retention.models.rfm_summary.summary_from_transactions`` over the
counted orders (completed or refunded, net revenue), in weeks, calibration to the shop's last
day. The summary is cached as Parquet under ``bench/.cache/`` and the same file is read by
every tool. BG/NBD is fitted on every customer; Gamma-Gamma on the customers with x > 0 and a
positive mean repeat spend (a few have refunds that net to 0; no tool accepts those).

Each fit runs in a fresh subprocess (ours in this interpreter's environment, peers in theirs),
runs interleaved round-robin. "fit" times only the fitting calls with the data already in
memory (for pymc-marketing that includes building and compiling the model, which its
``fit`` does); "process" is the whole subprocess from launch to exit (interpreter, imports,
reading the Parquet file, fit). Peak RSS is measured inside each subprocess (``VmHWM``; see
``peak_rss_mib`` for why not ``getrusage``).
Parameters are compared to ours, and each tool's parameters are scored with our
log-likelihood on the same data. A CDNOW run of every tool (Fader, Hardie & Lee 2005 sample,
weeks, calibration to 1997-09-30) checks that they all fit the same model. Prints a Markdown
report and writes it to --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
PEERS_REQUIREMENTS = BENCH / "requirements-peers.txt"
PEERS_VENV = CACHE / "venv-peers"
PYTENSOR_CACHE = CACHE / "pytensor"
CDNOW_FILE = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = "1997-09-30"
CDNOW_PUBLISHED: dict[str, float] = {
    "r": 0.243,
    "alpha": 4.414,
    "a": 0.793,
    "b": 2.426,
    "p": 6.25,
    "q": 3.74,
    "gamma": 15.44,
}
CDNOW_DECIMALS: dict[str, int] = {"r": 3, "alpha": 3, "a": 3, "b": 3, "p": 2, "q": 2, "gamma": 2}
PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b", "p", "q", "gamma")
RESULT_PREFIX = "FIT-RESULT "
SEED = 42
LOAD_BEFORE_RUNS: list[float] = []  # 1-minute load average before each timed run

TOOLS: dict[str, str] = {
    "ours": "ours (retention.models)",
    "lifetimes": "lifetimes",
    "lifetimes-weights": "lifetimes, rows deduplicated into weights",
    "pymc-flat": "pymc-marketing MAP, flat priors",
    "pymc-default": "pymc-marketing MAP, default priors",
}
PEER_PACKAGES: tuple[str, ...] = (
    "lifetimes",
    "autograd",
    "pymc-marketing",
    "pymc",
    "pytensor",
    "numpy",
    "scipy",
    "pandas",
)


HOW = """How it is run and read:
- Each run is a fresh process; runs are interleaved round-robin over the tools. **fit** times
  only the fitting calls, data in memory (for pymc-marketing that includes building and
  compiling the model, which its `fit` does); **process** is launch to exit (interpreter,
  imports, reading the Parquet file, fit). **fit CPU** is the process CPU time of the fit
  (all threads), steadier than wall time when other work shares the 2 cores. Medians in
  seconds (min–max); ratios are medians, peer / ours. Peak RSS: `VmHWM` of each worker
  process (the largest run).
- ours: `fit_bgnbd` + `fit_gamma_gamma` (L-BFGS-B on log-parameters, then Newton polish on a
  numerical Hessian, whose inverse gives the covariance; BG/NBD rows deduplicated first).
- lifetimes: `BetaGeoFitter().fit` + `GammaGammaFitter().fit` with the defaults (penalizer 0,
  scipy BFGS with autograd gradients, then the autograd Hessian for standard errors), one row
  per customer as in its docs. "rows deduplicated into weights": the same fitters given
  `weights=`, the pandas `groupby(...).size()` that builds them timed with the fit.
- pymc-marketing: `BetaGeoModel` + `GammaGammaModel`, `fit(method="map")` (`pm.find_MAP`:
  L-BFGS-B on the unconstrained parameters, log-density without the Jacobian term). "flat
  priors": `Prior("HalfFlat")` on r, alpha, a, b, so the MAP is the MLE; "default priors":
  the package's BG/NBD priors (r ~ Weibull(2, 1), alpha ~ Weibull(2, 10), a = phi·kappa,
  b = (1 − phi)·kappa, phi ~ Uniform(0, 1), kappa ~ Pareto(1, 1)), so MAP ≠ MLE. Its
  Gamma-Gamma priors are HalfFlat on p, q, v in both (the package default). PyTensor's
  compiled C code is cached in bench/.cache/pytensor; the CDNOW runs go first and warm it.
- LL columns: each tool's parameters scored by our log-likelihood functions on the same data;
  the ours row shows the log-likelihood itself, other rows the difference to ours (negative:
  ours found the higher maximum)."""


# --- workers: one fit per process ---------------------------------------------------------


def _spend_rows(summary: Any) -> Any:
    """The Gamma-Gamma input: customers with x > 0 and a positive mean repeat spend."""
    return summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]


def _fit_ours(summary: Any) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from retention.models.bgnbd import fit_bgnbd
    from retention.models.gamma_gamma import fit_gamma_gamma

    spend = _spend_rows(summary)
    x, t_x, big_t = (summary[c].to_numpy("float64") for c in ("frequency", "recency", "T"))
    sx, sz = (spend[c].to_numpy("float64") for c in ("frequency", "monetary_value"))
    c0, t0 = time.process_time(), time.perf_counter()
    bg = fit_bgnbd(x, t_x, big_t)
    t1 = time.perf_counter()
    gg = fit_gamma_gamma(sx, sz)
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "bgnbd_s": t1 - t0,
        "gg_s": t2 - t1,
        "cpu_s": c2 - c0,
        "params": {**vars(bg.params), **vars(gg.params)},
        "info": {
            "bgnbd_converged": bg.converged,
            "gg_converged": gg.converged,
            "unique_rows": bg.n_unique_rows,
            "bgnbd_iterations": bg.iterations,
            "gg_iterations": gg.iterations,
        },
    }


def _fit_lifetimes(summary: Any, weighted: bool) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    spend = _spend_rows(summary)
    c0, t0 = time.process_time(), time.perf_counter()
    if weighted:
        rows = summary.groupby(["frequency", "recency", "T"], sort=False).size()
        rows = rows.reset_index(name="weight")
        bg = BetaGeoFitter().fit(
            rows["frequency"], rows["recency"], rows["T"], weights=rows["weight"]
        )
    else:
        bg = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    t1 = time.perf_counter()
    if weighted:
        rows = spend.groupby(["frequency", "monetary_value"], sort=False).size()
        rows = rows.reset_index(name="weight")
        gg = GammaGammaFitter().fit(
            rows["frequency"], rows["monetary_value"], weights=rows["weight"]
        )
    else:
        gg = GammaGammaFitter().fit(spend["frequency"], spend["monetary_value"])
    t2, c2 = time.perf_counter(), time.process_time()
    params = {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")}
    params |= {"p": float(gg.params_["p"]), "q": float(gg.params_["q"])}
    params["gamma"] = float(gg.params_["v"])
    return {"bgnbd_s": t1 - t0, "gg_s": t2 - t1, "cpu_s": c2 - c0, "params": params, "info": {}}


def _fit_pymc(summary: Any, flat: bool) -> dict[str, Any]:
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    spend = _spend_rows(summary)
    bg_data = summary[["customer_id", "frequency", "recency", "T"]]
    gg_data = spend[["customer_id", "frequency", "monetary_value"]]
    bg_config = {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")} if flat else None
    gg_config = {k: Prior("HalfFlat") for k in ("p", "q", "v")}  # also the default
    c0, t0 = time.process_time(), time.perf_counter()
    bg = BetaGeoModel(model_config=bg_config)
    bg.fit(data=bg_data, method="map", progressbar=False)
    t1 = time.perf_counter()
    gg = GammaGammaModel(model_config=gg_config)
    gg.fit(data=gg_data, method="map", progressbar=False)
    t2, c2 = time.perf_counter(), time.process_time()
    bg_post, gg_post = bg.idata.posterior, gg.idata.posterior
    params = {k: float(bg_post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")}
    params |= {k: float(gg_post[k].values.ravel()[0]) for k in ("p", "q")}
    params["gamma"] = float(gg_post["v"].values.ravel()[0])
    return {"bgnbd_s": t1 - t0, "gg_s": t2 - t1, "cpu_s": c2 - c0, "params": params, "info": {}}


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    ``VmHWM`` of /proc/self/status where there is one: ``getrusage(RUSAGE_SELF).ru_maxrss``
    survives ``execve`` on Linux, so a worker started by a parent that holds 1.6 GiB (the
    generated 1M-customer shop) would report the parent's peak instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(tool: str, data: Path) -> None:
    """Fit one tool on one summary file and print one result line (run in a subprocess)."""
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    import pandas as pd

    if tool == "ours":
        sys.path.insert(0, str(ROOT))
        import retention.models.bgnbd  # noqa: F401
    elif tool.startswith("lifetimes"):
        import lifetimes  # noqa: F401
    else:
        import pymc_marketing.clv  # noqa: F401
    t1 = time.perf_counter()
    summary = pd.read_parquet(data)
    t2 = time.perf_counter()
    if tool == "ours":
        result = _fit_ours(summary)
    elif tool.startswith("lifetimes"):
        result = _fit_lifetimes(summary, weighted=tool == "lifetimes-weights")
    else:
        result = _fit_pymc(summary, flat=tool == "pymc-flat")
    result |= {
        "import_s": t1 - t0,
        "read_s": t2 - t1,
        "rss_mib": peak_rss_mib(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- environment and data -----------------------------------------------------------------


def peers_python() -> Path:
    """The peers' interpreter; (re)creates bench/.cache/venv-peers when missing or stale."""
    python = PEERS_VENV / "bin" / "python"
    digest = hashlib.sha256(PEERS_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEERS_VENV / ".requirements-sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    base = shutil.which("python3.11") or getattr(sys, "_base_executable", sys.executable)
    print(f"creating {PEERS_VENV.relative_to(ROOT)} from {PEERS_REQUIREMENTS.name} ...")
    t = time.perf_counter()
    shutil.rmtree(PEERS_VENV, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(PEERS_REQUIREMENTS)], check=True
    )
    stamp.write_text(digest + "\n")
    print(f"  done in {time.perf_counter() - t:.0f} s")
    return python


def peer_versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(python), "-c", code, *PEER_PACKAGES], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout))


def sample_summary(customers: int) -> tuple[Path, str]:
    """Cached Parquet summary of the sample shop; returns (path, how it was made)."""
    path = CACHE / f"fit-sample-{customers}-seed{SEED}.parquet"
    note_path = path.with_suffix(".txt")
    if path.exists() and note_path.exists():
        return path, note_path.read_text().strip()
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from retention.models.rfm_summary import summary_from_transactions
    from retention.sample import DEFAULT_END, generate_sample
    from retention.schema import COUNTED_STATUSES

    print(f"generating the sample shop with {customers:,} customers ...")
    t0 = time.perf_counter()
    orders = generate_sample(customers, SEED).orders
    t1 = time.perf_counter()
    counted = orders[orders["status"].isin(list(COUNTED_STATUSES))]
    counted = counted[counted["customer_id"].notna()]
    summary = summary_from_transactions(
        counted["customer_id"], counted["ordered_at"], counted["revenue"], DEFAULT_END
    )
    t2 = time.perf_counter()
    # Integer ids (1..n, in the order of the original ids) so that no tool pays for strings.
    summary["customer_id"] = np.arange(1, len(summary) + 1, dtype="int64")
    CACHE.mkdir(parents=True, exist_ok=True)
    summary.to_parquet(path, index=False)
    note = (
        f"{len(orders):,} orders ({len(counted):,} counted, of registered customers) generated "
        f"in {t1 - t0:.1f} s, summarised in {t2 - t1:.1f} s"
    )
    note_path.write_text(note + "\n")
    return path, note


def cdnow_summary() -> Path:
    path = CACHE / "fit-cdnow.parquet"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT))
    from retention.models.rfm_summary import read_cdnow, summary_from_transactions

    raw = read_cdnow(CDNOW_FILE)
    summary = summary_from_transactions(
        raw["customer_id"], raw["ordered_at"], raw["revenue"], CDNOW_CALIBRATION_END
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    summary.to_parquet(path, index=False)
    return path


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    blas = ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS"))
    return (
        f"{cpu} ({platform.machine()}), {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
        f"{platform.platform(terse=True)}, Python {platform.python_version()}"
        + (f", {blas} (as set on this machine, for every tool)" if blas else "")
    )


# --- running and reporting ----------------------------------------------------------------


@dataclass
class Runs:
    tool: str
    fit_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    bgnbd_s: list[float] = field(default_factory=list)
    gg_s: list[float] = field(default_factory=list)
    process_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def run_worker(tool: str, data: Path, python: Path, timeout: float) -> tuple[dict[str, Any], float]:
    env = dict(os.environ)
    if tool.startswith("pymc"):
        env["PYTENSOR_FLAGS"] = f"compiledir={PYTENSOR_CACHE}"
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", tool, "--data", str(data)]
    LOAD_BEFORE_RUNS.append(os.getloadavg()[0])
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    elapsed = time.perf_counter() - t
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"{tool} on {data.name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len(RESULT_PREFIX) :]), elapsed


def run_all(
    tools: list[str],
    data: Path,
    repeats: dict[str, int],
    ours_py: Path,
    peers_py: Path,
    timeout: float,
) -> dict[str, Runs]:
    """Round-robin: run i of every tool that still needs one, then run i + 1."""
    runs = {tool: Runs(tool) for tool in tools}
    for i in range(max(repeats[t] for t in tools)):
        for tool in tools:
            if i >= repeats[tool]:
                continue
            python = ours_py if tool == "ours" else peers_py
            result, elapsed = run_worker(tool, data, python, timeout)
            r = runs[tool]
            r.bgnbd_s.append(result["bgnbd_s"])
            r.gg_s.append(result["gg_s"])
            r.fit_s.append(result["bgnbd_s"] + result["gg_s"])
            r.cpu_s.append(result["cpu_s"])
            r.process_s.append(elapsed)
            r.rss_mib.append(result["rss_mib"])
            r.params, r.info = result["params"], result["info"]
            print(
                f"  {data.name} {tool} run {i + 1}: fit {r.fit_s[-1]:.2f} s "
                f"(BG/NBD {result['bgnbd_s']:.2f}, GG {result['gg_s']:.2f}; "
                f"CPU {result['cpu_s']:.2f}), process {elapsed:.2f} s, "
                f"RSS {result['rss_mib']:,.0f} MiB",
                flush=True,
            )
    return runs


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    digits = 2 if med < 10 else 1 if med < 100 else 0
    if len(values) == 1:
        return f"{med:,.{digits}f} (1 run)"
    return f"{med:,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def max_rel_diff(params: dict[str, float], reference: dict[str, float]) -> float:
    return max(abs(params[k] - reference[k]) / abs(reference[k]) for k in PARAMS)


def log_likelihoods(data: Path, params: dict[str, float]) -> tuple[float, float]:
    """(BG/NBD, Gamma-Gamma) log-likelihood of ``params`` on ``data``, by our functions."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from retention.models.bgnbd import BgNbdParams, bgnbd_log_likelihood
    from retention.models.gamma_gamma import GammaGammaParams, gamma_gamma_log_likelihood

    summary = pd.read_parquet(data)
    spend = _spend_rows(summary)
    bg = bgnbd_log_likelihood(
        BgNbdParams(params["r"], params["alpha"], params["a"], params["b"]),
        summary["frequency"],
        summary["recency"],
        summary["T"],
    )
    gg = gamma_gamma_log_likelihood(
        GammaGammaParams(params["p"], params["q"], params["gamma"]),
        spend["frequency"],
        spend["monetary_value"],
    )
    return bg, gg


def timing_table(runs: dict[str, Runs]) -> str:
    ours = runs["ours"]
    fit0, proc0 = statistics.median(ours.fit_s), statistics.median(ours.process_s)
    cpu0 = statistics.median(ours.cpu_s)
    lines = [
        "| tool | runs | BG/NBD fit s | Gamma-Gamma fit s | fit total s (min–max) "
        "| fit CPU s | process s (min–max) | peak RSS MiB | fit peer / ours "
        "| fit CPU peer / ours | process peer / ours |",
        "|---|" + "---:|" * 10,
    ]
    for tool, r in runs.items():
        fit, proc = statistics.median(r.fit_s), statistics.median(r.process_s)
        cpu = statistics.median(r.cpu_s)
        ratios = (
            "— | — | —"
            if tool == "ours"
            else f"{fit / fit0:,.1f}x | {cpu / cpu0:,.1f}x | {proc / proc0:,.1f}x"
        )
        lines.append(
            f"| {TOOLS[tool]} | {len(r.fit_s)} | {statistics.median(r.bgnbd_s):,.2f} "
            f"| {statistics.median(r.gg_s):,.2f} | {spread(r.fit_s)} | {cpu:,.2f} "
            f"| {spread(r.process_s)} | {max(r.rss_mib):,.0f} | {ratios} |"
        )
    return "\n".join(lines)


def _ll_cells(tool: str, ll: tuple[float, float], ll0: tuple[float, float]) -> str:
    """Ours: the log-likelihoods themselves; any other row: the difference to ours."""
    if tool == "ours":
        return f"{ll[0]:,.2f} | {ll[1]:,.2f}"
    return f"{ll[0] - ll0[0]:+.2g} | {ll[1] - ll0[1]:+.2g}"


def params_table(runs: dict[str, Runs], data: Path) -> str:
    """Parameters per tool, the largest relative difference to ours, and each tool's
    log-likelihoods minus ours (our likelihood functions, the same data)."""
    ours = runs["ours"].params
    ll0 = log_likelihoods(data, ours)
    lines = [
        f"| tool | {' | '.join(PARAMS)} | max rel. diff vs ours | BG/NBD LL (ours) / − ours "
        "| GG LL (ours) / − ours |",
        "|---|" + "---:|" * (len(PARAMS) + 3),
    ]
    for tool, r in runs.items():
        values = " | ".join(f"{r.params[k]:.5g}" for k in PARAMS)
        diff = "—" if tool == "ours" else f"{max_rel_diff(r.params, ours):.1e}"
        ll = log_likelihoods(data, r.params)
        lines.append(f"| {TOOLS[tool]} | {values} | {diff} | {_ll_cells(tool, ll, ll0)} |")
    return "\n".join(lines)


def cdnow_table(runs: dict[str, Runs], data: Path) -> str:
    """Parameters per tool against the published CDNOW values (rounded as published)."""
    ll0 = log_likelihoods(data, runs["ours"].params)
    lines = [
        f"| tool | {' | '.join(PARAMS)} | rounds to published | max rel. diff vs published "
        "| BG/NBD LL (ours) / − ours | GG LL (ours) / − ours |",
        "|---|" + "---:|" * (len(PARAMS) + 4),
    ]
    rows = [("published", CDNOW_PUBLISHED), *((TOOLS[t], r.params) for t, r in runs.items())]
    for name, params in rows:
        values = " | ".join(f"{params[k]:.5g}" for k in PARAMS)
        off = [
            k
            for k in PARAMS
            if abs(params[k] - CDNOW_PUBLISHED[k]) > 0.5 * 10.0 ** -CDNOW_DECIMALS[k] + 1e-12
        ]
        rounds = "all 7" if not off else "no: " + ", ".join(off)
        diff = f"{max_rel_diff(params, CDNOW_PUBLISHED):.1e}"
        tool = "ours" if name == TOOLS["ours"] else name
        ll = _ll_cells(tool, log_likelihoods(data, params), ll0)
        if name == "published":
            rounds, diff = "—", "—"
        lines.append(f"| {name} | {values} | {rounds} | {diff} | {ll} |")
    return "\n".join(lines)


def describe(data: Path, note: str, unique_rows: int | None) -> str:
    import pandas as pd

    s = pd.read_parquet(data)
    spend = _spend_rows(s)
    repeaters = int((s["frequency"] > 0).sum())
    text = (
        f"{len(s):,} customers ({note}); {repeaters:,} ({repeaters / len(s):.1%}) with x > 0, "
        f"mean x {s['frequency'].mean():.2f}, max x {int(s['frequency'].max())}, "
        f"T up to {s['T'].max():.1f} weeks; Gamma-Gamma on {len(spend):,} customers "
        f"({repeaters - len(spend):,} with x > 0 dropped: net repeat spend ≤ 0)"
    )
    if unique_rows is not None:
        text += f"; {unique_rows:,} distinct (x, t_x, T) rows after our deduplication"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours per size")
    parser.add_argument("--peer-repeat", type=int, default=5, help="runs of each peer per size")
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS), default=list(TOOLS))
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "fit.md")
    parser.add_argument("--worker", choices=list(TOOLS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data)
        return 0

    tools = ["ours", *[t for t in args.tools if t != "ours"]]
    ours_py = Path(sys.executable)
    peers_py = peers_python()
    versions = peer_versions(peers_py)
    import numpy as np
    import pandas as pd
    import scipy

    cdnow = cdnow_summary()
    sizes = [(n, *sample_summary(n)) for n in args.customers]

    print("CDNOW check (1 run each) ...")
    cdnow_runs = run_all(tools, cdnow, dict.fromkeys(tools, 1), ours_py, peers_py, args.timeout)
    sections: list[str] = []
    for customers, data, note in sizes:
        print(f"{customers:,} customers ...")
        repeats = {t: args.repeat if t == "ours" else args.peer_repeat for t in tools}
        runs = run_all(tools, data, repeats, ours_py, peers_py, args.timeout)
        sections.append(
            f"### {customers:,} customers\n\n"
            f"Data: {describe(data, note, runs['ours'].info.get('unique_rows'))}.\n\n"
            f"{timing_table(runs)}\n\n{params_table(runs, data)}\n"
        )

    peers = ", ".join(f"{k} {v}" for k, v in versions.items())
    load = (
        f"1-minute load average before each run: {min(LOAD_BEFORE_RUNS):.2f}–"
        f"{max(LOAD_BEFORE_RUNS):.2f} on {os.cpu_count()} cores (includes the previous run's)"
    )
    report = (
        "## BG/NBD + Gamma-Gamma fits: ours vs lifetimes and pymc-marketing\n\n"
        f"Machine: {machine()}; {load}.\n"
        f"Ours (.venv): numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}. Peers (bench/.cache/venv-peers): {peers}.\n\n"
        "Data: the sample shop (`generate_sample`, seed 42) summarised by "
        "`summary_from_transactions` (counted orders, weeks, calibration to the shop's last "
        "day), one Parquet file read by every tool. BG/NBD on all customers, Gamma-Gamma on "
        "those with x > 0 and a positive mean repeat spend.\n\n"
        f"{HOW}\n\n"
        + "\n".join(sections)
        + "\n### CDNOW check (2,357 customers, weeks, calibration to 1997-09-30; 1 run each)\n\n"
        f"{cdnow_table(cdnow_runs, cdnow)}\n\n"
        f"{timing_table(cdnow_runs)}\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print("\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
