"""Where each hyperparameter of a config comes from: the config's ``sources`` maps a dotted key (``audio.lrMax``;
a key covers everything under it) to

- ``{"source": "report §N…" | "report Table N…", "value": V}``: the report says so, there, and V is the report's
  value. A run whose value differs is not the report's system: ``evaluate`` lists every such key under the tables
  ("not the report's system: …"), so Tables 2–5 never pass off a changed system as the report's;
- ``"ours: <reason>"``: the report is silent or we deviate, and why. ``evaluate`` prints these values under the
  tables. A reason never hand-writes a number the config sets: it names it, ``{audio.restartEpochs}`` (the run's
  value), ``{heldout.fraction%}`` (as a percentage), or ``{cosineCycles}`` (what the audio schedule does with the
  run's epochs), so it cannot go stale when the value changes.
"""
from __future__ import annotations

import json
import re

#: Config sections whose leaves are hyperparameters (what a reproduction has to get right).
HYPERPARAMETER_SECTIONS = ("seed", "amp", "submission", "features", "heldout", "audio", "image", "heads",
                           "calibration", "fusion")
#: Leaves that are paths or host settings, not hyperparameters.
NOT_HYPERPARAMETERS = ("features.batch", "features.jobs", "image.weights", "image.workers")
_REPORT = ("report §", "report Table ")
_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_.]*)(%?)\}")


def check_sources(sources: dict, where: str) -> None:
    for key, entry in sources.items():
        if isinstance(entry, str) and entry.startswith("ours: "):
            continue
        if isinstance(entry, dict) and set(entry) == {"source", "value"} and isinstance(entry["source"], str) \
                and entry["source"].startswith(_REPORT):
            continue
        if isinstance(entry, str) and entry.startswith(_REPORT):
            raise ValueError(f"{where}: sources.{key} is tagged as the report's: record the report's value with it, "
                             f'{{"source": {entry!r}, "value": …}}')
        raise ValueError(f"{where}: sources.{key} must read 'ours: <reason>' or "
                         "{\"source\": \"report §<section>…\" (or \"report Table <n>…\"), \"value\": <the report's value>}, "
                         f"got {entry!r}")


def _leaves(node, prefix: str = ""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip(".")


def lookup(cfg: dict, dotted: str):
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


def cosine_cycles(cfg: dict) -> str:
    """What the audio nets' cosine-decay-restart schedule does in ``audio.epochs``: whole cycles, and where the
    last epoch ends when the epochs stop inside a cycle."""
    a = cfg["audio"]
    epochs, length, mult = int(a["epochs"]), max(1, int(a["restartEpochs"])), max(1, int(a["restartMult"]))
    cycles, done = [], 0
    while done + length <= epochs:
        cycles.append(length)
        done += length
        length *= mult
    whole = f"{len(cycles)} whole cosine cycle{'s' if len(cycles) != 1 else ''}" + \
        (f" ({' + '.join(map(str, cycles))})" if cycles else "")
    if done == epochs:
        return f"{epochs} = {whole}, ending at lrMin"
    return f"{epochs} = {whole} and {epochs - done} epochs of the next ({length}): it ends mid-cycle, above lrMin"


#: Computed phrases a reason may name as {name}.
COMPUTED = {"cosineCycles": cosine_cycles}


def render_reason(text: str, cfg: dict) -> str:
    """``ours`` reason with its {placeholders} replaced by the run's values (see the module's docstring)."""
    def sub(m: re.Match) -> str:
        name, percent = m.group(1), m.group(2)
        if name in COMPUTED:
            return COMPUTED[name](cfg)
        value = lookup(cfg, name)
        if value is None:
            raise ValueError(f"sources: a reason names {{{name}}}, which is not a config key")
        return f"{100 * value:g} %" if percent else (value if isinstance(value, str) else json.dumps(value))
    return _PLACEHOLDER.sub(sub, text)


def ours_settings(cfg: dict) -> list[dict]:
    """The ``ours`` entries with their values in this run: [{key, value, reason}] (reasons rendered)."""
    return [{"key": k, "value": lookup(cfg, k), "reason": render_reason(v[len("ours: "):], cfg)}
            for k, v in cfg.get("sources", {}).items() if isinstance(v, str) and v.startswith("ours: ")]


def report_drift(cfg: dict) -> list[dict]:
    """Report-tagged keys whose value in this run differs from the report's: [{key, value, report, source}]."""
    out = []
    for k, v in cfg.get("sources", {}).items():
        if isinstance(v, dict):
            value = lookup(cfg, k)
            if value != v["value"]:                    # deep equality; 1 == 1.0
                out.append({"key": k, "value": value, "report": v["value"], "source": v["source"]})
    return out
