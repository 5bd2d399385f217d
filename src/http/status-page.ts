/**
 * The status page served at `/`: one self-contained HTML document (inline style and script, no external assets, so it
 * works on a device without internet). It renders the document of `/status.json` and follows `/events` (server-sent
 * events; it polls `/status.json` where EventSource is missing). The current label is the text of `#current-label`,
 * a stable hook for tests and scrapers. Kept as a TypeScript string so it ships inside dist/ with the code.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>avscene</title>
<style>
  :root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1d2330; --muted: #6b7280; --line: #e3e6eb; --ok: #15803d; --bad: #b91c1c; }
  @media (prefers-color-scheme: dark) { :root { --bg: #11151c; --card: #1a1f29; --fg: #e5e7eb; --muted: #9ca3af; --line: #2b3240; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .9rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
  header h1 { font-size: 1.1rem; margin: 0; }
  header span { color: var(--muted); font-size: .9rem; }
  main { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(280px, 1.3fr); gap: 1rem; padding: 1rem 1.5rem; max-width: 1200px; }
  @media (max-width: 760px) { main { grid-template-columns: 1fr; } }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.2rem; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .6rem; }
  #current-label { font-size: 2.6rem; font-weight: 650; line-height: 1.1; }
  #confidence { font-size: 1.1rem; color: var(--muted); margin-top: .2rem; }
  #window { font-size: .85rem; color: var(--muted); margin-top: .6rem; }
  .badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; color: #fff; margin-right: .4rem; }
  .ok { background: var(--ok); } .bad { background: var(--bad); }
  .reason { font-size: .85rem; color: var(--muted); margin: .3rem 0 0; }
  .bar { display: grid; grid-template-columns: 9.5rem 1fr 3.5rem; gap: .5rem; align-items: center; margin: .22rem 0; font-size: .9rem; }
  .bar .track { height: .8rem; background: var(--line); border-radius: 4px; overflow: hidden; }
  .bar .fill { height: 100%; border-radius: 4px; transition: width .3s; }
  .bar .pct { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); }
  .bar.top { font-weight: 650; }
  #timeline { position: relative; height: 2.2rem; background: var(--line); border-radius: 6px; overflow: hidden; }
  #timeline div { position: absolute; top: 0; bottom: 0; }
  .axis { display: flex; justify-content: space-between; font-size: .75rem; color: var(--muted); margin-top: .25rem; }
  #legend { display: flex; flex-wrap: wrap; gap: .3rem .9rem; margin-top: .6rem; font-size: .8rem; }
  #legend i { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; margin: 0; font-size: .9rem; }
  dt { color: var(--muted); } dd { margin: 0; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<header>
  <h1>avscene <span id="device"></span></h1>
  <span id="bundle"></span>
  <span id="connection">connecting…</span>
</header>
<main>
  <section>
    <h2>Scene now</h2>
    <div id="current-label">…</div>
    <div id="confidence">waiting for the first window</div>
    <div id="window"></div>
    <p style="margin:.9rem 0 0"><span id="health" class="badge bad">health</span><span id="ready" class="badge bad">ready</span></p>
    <p class="reason" id="health-reason"></p>
    <p class="reason" id="ready-reason"></p>
  </section>
  <section>
    <h2>Probability of every class</h2>
    <div id="bars"></div>
  </section>
  <section class="wide">
    <h2>Last hour</h2>
    <div id="timeline"></div>
    <div class="axis"><span>−60 min</span><span>−45</span><span>−30</span><span>−15</span><span>now</span></div>
    <div id="legend"></div>
  </section>
  <section>
    <h2>Sources, broker, model</h2>
    <dl id="state"></dl>
  </section>
  <section>
    <h2>Counters</h2>
    <dl id="counters"></dl>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const HOUR = 3600000;
// Ten well-separated colours (Tableau 10) by class index; beyond ten, spread hues.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
function colour(label, classes) {
  const i = classes.indexOf(label);
  if (i < 0) return "#9ca3af";
  return i < PALETTE.length ? PALETTE[i] : "hsl(" + Math.round(i * 137.5) % 360 + " 60% 50%)";
}
function el(tag, props, children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children || []) e.append(c);
  return e;
}
function pct(x) { return (100 * x).toFixed(1) + " %"; }
function list(target, rows) {
  target.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: String(v) })]));
}
function badge(node, reasonNode, name, verdict) {
  node.className = "badge " + (verdict.ok ? "ok" : "bad");
  node.textContent = name + (verdict.ok ? " ok" : " failing");
  reasonNode.textContent = name + ": " + verdict.reason;
}
function render(s) {
  $("device").textContent = s.device + " · v" + s.version;
  $("bundle").textContent = s.bundle ? "model " + s.bundle.name + " " + s.bundle.version + " (" + s.bundle.sha + ")" : "";
  const cur = s.current;
  if (cur) {
    $("current-label").textContent = cur.label;
    $("current-label").style.color = colour(cur.label, s.classes);
    $("confidence").textContent = pct(cur.confidence) + " confident" + (cur.degraded ? " · degraded: " + (cur.degradedReason || "") : "");
    $("window").textContent = "window #" + cur.seq + " · " + new Date(cur.window.start).toLocaleTimeString() + " · from " + cur.modalities.join(" + ");
    const top = cur.label;
    $("bars").replaceChildren(...s.classes.map((c) => {
      const p = cur.probs[c] || 0;
      const fill = el("div", { className: "fill" });
      fill.style.width = (100 * p).toFixed(2) + "%";
      fill.style.background = colour(c, s.classes);
      return el("div", { className: "bar" + (c === top ? " top" : "") }, [el("span", { textContent: c }), el("div", { className: "track" }, [fill]), el("span", { className: "pct", textContent: pct(p) })]);
    }));
  }
  const start = s.now - HOUR;
  $("timeline").replaceChildren(...s.timeline.map((b) => {
    const d = el("div", { title: b.label + " " + new Date(b.from).toLocaleTimeString() + "–" + new Date(b.to).toLocaleTimeString() });
    d.style.left = (100 * (b.from - start) / HOUR) + "%";
    d.style.width = Math.max(0.08, 100 * (b.to - b.from) / HOUR) + "%";
    d.style.background = colour(b.label, s.classes);
    return d;
  }));
  const seen = [...new Set(s.timeline.map((b) => b.label))];
  $("legend").replaceChildren(...seen.map((l) => {
    const i = el("i");
    i.style.background = colour(l, s.classes);
    return el("span", {}, [i, l]);
  }));
  badge($("health"), $("health-reason"), "health", s.health);
  badge($("ready"), $("ready-reason"), "ready", s.ready);
  list($("state"), [
    ["audio", s.sources.audio],
    ["video", s.sources.video],
    ["MQTT broker", s.mqtt.connected ? "connected" : "unreachable"],
    ["MQTT outbox", s.mqtt.queued + " queued · " + Math.round(100 * s.mqtt.fill) + " % full"],
    ["last window", s.sinceLastWindowMs === null ? "none yet" : (s.sinceLastWindowMs / 1000).toFixed(1) + " s ago"],
    ["uptime", Math.floor(s.uptimeS / 3600) + " h " + Math.floor((s.uptimeS % 3600) / 60) + " min"],
  ]);
  list($("counters"), [
    ["windows", s.counters.windows],
    ["dropped (behind real time)", s.counters.dropped],
    ["invalid (skipped)", s.counters.invalid],
    ["degraded", s.counters.degraded],
    ["inference queue", s.counters.queueDepth],
    ["MQTT dropped / reconnects", s.mqtt.dropped + " / " + s.mqtt.reconnects],
  ]);
}
function poll() {
  fetch("status.json").then((r) => r.json()).then((s) => { $("connection").textContent = "polling"; render(s); })
    .catch(() => { $("connection").textContent = "daemon unreachable"; })
    .finally(() => setTimeout(poll, 2000));
}
if (typeof EventSource === "function") {
  const feed = new EventSource("events");
  feed.onmessage = (e) => { $("connection").textContent = "live"; render(JSON.parse(e.data)); };
  feed.onerror = () => { $("connection").textContent = "reconnecting…"; };
} else {
  poll();
}
</script>
</body>
</html>
`;
