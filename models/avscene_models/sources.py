"""Where each hyperparameter of a config comes from: the config's ``sources`` maps a dotted key (``audio.lrMax``;
a key covers everything under it) to ``report §N…`` / ``report Table N…`` (the report says so, there) or ``ours: <reason>``
(the report is silent or we deviate, and why). ``evaluate`` prints the ``ours`` values under the tables, so a
reader of Tables 2–5 sees which numbers are our guesses."""
from __future__ import annotations

#: Config sections whose leaves are hyperparameters (what a reproduction has to get right).
HYPERPARAMETER_SECTIONS = ("seed", "amp", "features", "heldout", "audio", "image", "heads", "calibration", "fusion")
#: Leaves that are paths or host settings, not hyperparameters.
NOT_HYPERPARAMETERS = ("features.batch", "features.jobs", "image.weights", "image.workers")


def check_sources(sources: dict, where: str) -> None:
    for key, text in sources.items():
        if not isinstance(text, str) or not (text.startswith(("report §", "report Table ")) or text.startswith("ours: ")):
            raise ValueError(f"{where}: sources.{key} must read 'report §<section>…', 'report Table <n>…' or 'ours: <reason>', "
                             f"got {text!r}")


def _leaves(node, prefix: str = ""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip(".")


def _lookup(cfg: dict, dotted: str):
    node = cfg
    for k in dotted.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def _covered(key: str, prefixes) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def missing_sources(cfg: dict) -> list[str]:
    """Hyperparameters of ``cfg`` (defaults included) that no ``sources`` entry covers."""
    sources = cfg.get("sources", {})
    keys = [k for s in HYPERPARAMETER_SECTIONS for k in _leaves(cfg.get(s), f"{s}.")]
    return [k for k in keys if not _covered(k, NOT_HYPERPARAMETERS) and not _covered(k, sources)]


def ours_settings(cfg: dict) -> list[dict]:
    """The ``ours`` entries with their values in this run: [{key, value, reason}]."""
    return [{"key": k, "value": _lookup(cfg, k), "reason": v[len("ours: "):]}
            for k, v in cfg.get("sources", {}).items() if v.startswith("ours: ")]
