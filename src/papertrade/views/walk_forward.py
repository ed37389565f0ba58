"""Walk-forward results for people and scripts, and its chart."""

import io

from papertrade.domain.search import plain
from papertrade.views.studies import _stats_document

#: The out-of-sample statistics the text output shows.
SHOWN = ("Equity Final [$]", "Return [%]", "Return (Ann.) [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades",
         "Win Rate [%]", "Exposure Time [%]")  # fmt: skip


def walk_forward_document(result, objective: str, description, anchored: bool) -> dict:
    """Every fold (train and test ranges, the study and trial chosen, its parameters, the
    in-sample and out-of-sample objective and statistics), the stitched out-of-sample
    statistics, the walk-forward efficiency and each parameter's stability."""
    return {
        "name": result.name,
        "objective": objective,
        "anchored": anchored,
        "data": dict(description),
        "folds": [_fold_document(f, objective) for f in result.folds],
        "out_of_sample": _stats_document(result.stats),
        "walk_forward_efficiency": result.efficiency,
        "stability": result.stability,
    }


def _fold_document(fold, objective: str) -> dict:
    chosen, ts = fold.chosen, fold.performance.times
    train = fold.study.spec.meta.get("data", {})
    return {
        "number": fold.fold.number,
        "train": {"first_ts": train.get("first_ts"), "last_ts": train.get("last_ts"), "candles": train.get("candles")},
        "test": {"first_ts": int(ts[0]), "last_ts": int(ts[-1]), "candles": len(ts)},
        "study": fold.study.name,
        "trial": None if chosen is None else chosen.number,
        "params": None if chosen is None else {k: plain(v) for k, v in chosen.params.items()},
        "in_sample": None
        if chosen is None
        else {"objective": chosen.values[0], "stats": _stats_document(chosen.stats)},
        "out_of_sample": {"objective": fold.stats.get(objective), "stats": _stats_document(fold.stats)},
    }


def fold_rows(result, objective: str) -> tuple[list[str], list[list[str]]]:
    """One row per fold: its windows, the parameters chosen, in-sample and out-of-sample objective."""
    from papertrade.domain.timeframes import timestamp

    names = sorted({name for f in result.folds if f.chosen for name in f.chosen.params})
    headers = ["FOLD", "TRAIN", "TEST", *(n.upper() for n in names), "IN-SAMPLE", "OUT-OF-SAMPLE"]
    rows = []
    for f in result.folds:
        train = f.study.spec.meta.get("data", {})
        ts = f.performance.times
        params = f.chosen.params if f.chosen else {}
        rows.append([str(f.fold.number), f"{timestamp(train['first_ts'])} .. {timestamp(train['last_ts'])}",
                     f"{timestamp(int(ts[0]))} .. {timestamp(int(ts[-1]))}",
                     *(_text(params.get(n)) for n in names),
                     _number(f.chosen.values[0]) if f.chosen else "(none)",
                     _number(f.stats.get(objective))])  # fmt: skip
    return headers, rows


def stability_lines(result) -> list[str]:
    lines = []
    for name, entry in result.stability.items():
        text = (
            f"  {name}: {', '.join(str(v) for v in entry['values'])}; most common {entry['most_common']} "
            f"({entry['share']:.0%} of folds)"
        )
        if "spread_of_range" in entry:
            text += f", spread {entry['spread_of_range']:.0%} of the range searched"
        lines.append(text)
    return lines


def _text(value) -> str:
    return "-" if value is None else str(plain(value))


def _number(value) -> str:
    if value is None:
        return "-"
    number = float(value)
    return "0.00" if round(number, 2) == 0 else f"{number:,.2f}"


def write_chart(result, objective: str, path, ledger=None) -> None:
    """The out-of-sample equity curve, in-sample vs out-of-sample objective per fold, and (for
    two searched parameters) where each fold's choice fell: `path` is .html (Plotly) or .png,
    written as every `--plot` is (never over the `ledger`, nor any database)."""
    from papertrade.adapters.user_files import check_output, write_output

    if path.suffix.lower() == ".png":
        data = _png(result, objective)
    else:
        data = _figure(result, objective).to_html(include_plotlyjs=True, full_html=True).encode()
    write_output(check_output(path, "--plot", ledger), data)


def _series(result, objective: str):
    import numpy as np

    times = np.asarray(result.performance.times).astype("datetime64[ms]")
    folds = [str(f.fold.number) for f in result.folds]
    inside = [f.chosen.values[0] if f.chosen else None for f in result.folds]
    outside = [f.stats.get(objective) for f in result.folds]
    return times, result.performance.equity.floats(), folds, inside, outside


def _figure(result, objective: str):
    from plotly.subplots import make_subplots

    times, equity, folds, inside, outside = _series(result, objective)
    pair = _pair(result)
    titles = ["Out-of-sample equity (test windows stitched)", f"{objective}: in-sample vs out-of-sample"]
    if pair:
        titles.append("In-sample objective over the last train window's grid, and each fold's choice")
    fig = make_subplots(rows=len(titles), cols=1, vertical_spacing=0.08, subplot_titles=titles)
    fig.add_scatter(x=times, y=equity, name="equity", row=1, col=1)
    fig.add_bar(x=folds, y=inside, name="in-sample", row=2, col=1)
    fig.add_bar(x=folds, y=outside, name="out-of-sample", row=2, col=1)
    if pair:
        (x_name, xs), (y_name, ys) = pair
        heat = _heat(result, x_name, y_name)
        if heat is not None:
            fig.add_heatmap(x=heat[0], y=heat[1], z=heat[2], name="last train window", colorbar={"len": 0.3, "y": 0.15},
                            row=3, col=1)  # fmt: skip
        fig.add_scatter(x=xs, y=ys, mode="markers+text", text=folds, name="fold's choice", row=3, col=1)
        fig.update_xaxes(title_text=x_name, row=3, col=1)
        fig.update_yaxes(title_text=y_name, row=3, col=1)
    fig.update_layout(title=f"Walk-forward {result.name}", height=900 if pair else 650)
    return fig


def _pair(result):
    """The two searched parameters' chosen values fold by fold, when exactly two were searched."""
    names = list(result.stability)
    if len(names) != 2:
        return None
    return [(name, [float(v) if not isinstance(v, str) else v for v in result.stability[name]["values"]])
            for name in names]  # fmt: skip


def _heat(result, x_name: str, y_name: str):
    """The last train window's complete trials as (x, y, objective), for a heatmap."""
    trials = [t for t in result.folds[-1].study.trials if t.values is not None]
    numeric = all(not isinstance(t.params.get(n), str) for t in trials for n in (x_name, y_name))
    if not trials or not numeric:
        return None
    return ([float(t.params[x_name]) for t in trials], [float(t.params[y_name]) for t in trials],
            [t.values[0] for t in trials])  # fmt: skip


def _png(result, objective: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, equity, folds, inside, outside = _series(result, objective)
    pair = _pair(result)
    fig, axes = plt.subplots(3 if pair else 2, 1, figsize=(11, 10 if pair else 7))
    axes[0].plot(times, equity)
    axes[0].set_title("Out-of-sample equity (test windows stitched)")
    positions = range(len(folds))
    axes[1].bar([p - 0.2 for p in positions], [v or 0 for v in inside], 0.4, label="in-sample")
    axes[1].bar([p + 0.2 for p in positions], [v or 0 for v in outside], 0.4, label="out-of-sample")
    axes[1].set_xticks(list(positions), folds)
    axes[1].set_title(f"{objective} per fold")
    axes[1].legend()
    if pair:
        (x_name, xs), (y_name, ys) = pair
        heat = _heat(result, x_name, y_name)
        if heat is not None:
            dots = axes[2].scatter(heat[0], heat[1], c=heat[2], marker="s", s=60)
            fig.colorbar(dots, ax=axes[2], label="last train window")
        axes[2].scatter(xs, ys, color="black")
        for label, x, y in zip(folds, xs, ys, strict=False):
            axes[2].annotate(label, (x, y))
        axes[2].set_xlabel(x_name)
        axes[2].set_ylabel(y_name)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
