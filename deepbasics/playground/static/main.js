// The playground page: wires the connection, the settings panel and the views together.
//
// The server owns the training; the page sends `configure` after every change of a setting and
// draws what the frames bring, at most once per animation frame. A configuration the server
// accepts (it answers with `data`) is written into the URL, so a link reopens the same experiment.

import {Connection} from "./socket.js";
import {Controls} from "./controls.js";
import {clone, fromQuery, toQuery, withSharedData} from "./config.js";
import {BoundaryView} from "./heatmap.js";
import {Charts, RunHistory} from "./charts.js";
import {NetworkView} from "./network.js";

const $ = (id) => document.getElementById(id);
const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, null];   // epochs per second; null: as fast as possible

const app = {
  options: null,
  config: null,          // run A's configuration, as the panel shows it
  compare: null,         // run B's, or null
  editing: "A",
  sent: null,            // the last {config, compare} sent; becomes the URL once the server accepts it
  data: null,
  state: "starting",     // then paused / running / diverged (the server's status), or closed
  runs: [new RunHistory(), new RunHistory()],
  frames: 0,             // frames received
  drawn: 0,              // times the views were redrawn
  drawMs: 0,             // milliseconds spent redrawing them, in all
  configured: 0,         // configurations the server accepted (data messages)
  errors: [],            // the server's error messages, newest last
  recent: [],            // [time, epoch] of the frames of the last two seconds: the rates shown
  networks: [null, null],
  dirty: false,
  boundaryDirty: true,
};

const conn = new Connection();
const views = {
  boundary: [new BoundaryView($("boundary")), new BoundaryView($("boundary-b"))],
  network: new NetworkView($("network")),
  charts: new Charts({cost: $("chart-cost"), accuracy: $("chart-accuracy"), lr: $("chart-lr"),
                      grad: $("chart-grad"), gradB: $("chart-grad-b"), activations: $("chart-activations")}),
};
let controls = null;

// -- messages from the server -----------------------------------------------------------------
conn.on("open", () => setConnection("connected", "ok"));
conn.on("closed", () => {
  app.state = "closed";
  setConnection("disconnected: reload the page to start a new session", "bad");
  setButtons("closed");
});
conn.on("hello", (msg) => start(msg.options));
conn.on("busy", (msg) => {
  showError(msg.message || "the server is busy; close another playground tab and reload");
  setConnection("busy", "bad");
});
conn.on("error", (msg) => {
  app.errors.push(msg.message);
  showError(msg.message);
  controls?.markInvalid(msg.key);
});
conn.on("status", (msg) => {
  app.state = msg.state;
  setButtons(msg.state);
  app.recent = [];
  $("state").textContent = msg.state;
  if (msg.message) showError(msg.message, msg.state === "diverged" ? "warn" : "");
  else if ($("error").classList.contains("warn")) clearError();     // a divergence reset or trained past
});
conn.on("data", (msg) => {
  if (app.state === "starting") {                // the first data: the session is ready
    app.state = "paused";
    setButtons(app.state);
  }
  app.data = msg;
  app.configured += 1;
  if (app.sent) {
    history.replaceState(null, "", toQuery(app.sent.config, app.sent.compare) + location.hash);
  }
  clearError();
  controls?.clearInvalid();
  app.runs.forEach((r) => r.clear());
  app.networks = [null, null];
  views.boundary.forEach((v) => v.setData(msg));
  views.network.setData(msg.extent, (app.sent?.config || app.config).data?.features);
  $("boundary-explain").innerHTML = msg.task === "multiclass"
    ? "Each pixel takes the colour of the class the network predicts there. The circles are the training " +
      "points; tick <em>test points</em> to add the held-out ones (dark rim), which the network never trains on."
    : "Each pixel is coloured by what the network predicts there: orange for class 0, blue for class 1, " +
      "pale where it is unsure. The circles are the training points; tick <em>test points</em> to add the " +
      "held-out ones (dark rim), which the network never trains on.";
  showCompare(Boolean(app.sent?.compare));
  app.dirty = app.boundaryDirty = true;
});
conn.on("frame", (msg) => {
  app.frames += 1;
  app.recent.push([performance.now(), msg.epoch]);
  (msg.runs || []).forEach((run, i) => {
    const history = app.runs[i];
    if (!history) return;
    if (run.epoch < history.lastEpoch || (run.epoch === 0 && history.lastEpoch !== 0)) history.clear();
    history.add(run);
    // The pictures come every few frames; a frame without them keeps the last ones.
    if (run.boundary) {
      views.boundary[i].setGrid(run.boundary);
      app.networks[i] = run.network ?? null;
      app.boundaryDirty = true;
    }
  });
  app.dirty = true;
});
// Export: run A's TOML downloads at once; in compare mode run B's is offered beside it.
conn.on("export", (msg) => {
  const a = tomlLink(msg.filename || "playground.toml", msg.toml);
  document.body.append(a);
  a.click();
  a.remove();
  const notice = $("notice");
  notice.replaceChildren(`Downloaded ${a.download}: run it with deepbasics train ${a.download}`);
  if (msg.compare) {
    notice.append(" (run A). Run B: ", tomlLink(msg.compare.filename, msg.compare.toml), ".");
  }
  notice.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { notice.hidden = true; }, 15000);
});

function tomlLink(filename, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: "application/toml"}));
  a.download = filename;
  a.textContent = filename;
  a.dataset.testid = "export-link";
  return a;
}

// -- starting: the options build the panel, the URL (or the default) gives the configuration ----
function start(options) {
  app.options = options;
  $("version").textContent = options.version ? `deepbasics ${options.version}` : "";
  const presetSelect = $("preset");
  for (const p of options.presets || []) {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = p.title;
    presetSelect.append(o);
  }
  controls = new Controls($("controls"), options, onEdit);
  const fromUrl = fromQuery(location.search);
  const base = options.default || {config: {}, compare: null};
  app.config = fromUrl ? completed(fromUrl.config, base.config) : clone(base.config);
  app.compare = fromUrl ? (fromUrl.compare && completed(fromUrl.compare, app.config)) : clone(base.compare);
  $("compare").checked = Boolean(app.compare);
  $("preset").value = presetOf(app.config, app.compare);
  showControls(true);
  send();
}

// The id of the preset that is exactly this configuration, else "" (custom).
function presetOf(config, compare) {
  const same = (p) => JSON.stringify(p.config) === JSON.stringify(config) &&
                      JSON.stringify(p.compare ?? null) === JSON.stringify(compare ?? null);
  return (app.options.presets || []).find(same)?.id ?? "";
}

// A configuration from a link: each section the link holds is taken whole (the page writes every
// setting into its links); a section it leaves out comes from `base`.
function completed(partial, base) {
  return {...clone(base), ...clone(partial)};
}

function send() {
  const compare = withSharedData(app.config, app.compare);
  app.sent = {config: clone(app.config), compare: clone(compare)};
  conn.configure(app.sent.config, app.sent.compare);
}

function showControls(rebuild = false) {
  const target = app.editing === "B" && app.compare ? app.compare : app.config;
  controls.show(target, app.editing === "B" && app.compare ? "B" : "A", Boolean(app.compare), rebuild);
  views.network.setData(app.data?.extent || [-1, 1, -1, 1], app.config.data?.features);
}

function onEdit(key) {
  if (key.startsWith("@edit:")) {
    app.editing = key.slice(6);
    showControls();
    app.dirty = true;
    return;
  }
  $("preset").value = "";
  showControls();
  send();
}

// -- the page's own buttons -----------------------------------------------------------------------
$("play").addEventListener("click", () => conn.play());
$("pause").addEventListener("click", () => conn.pause());
$("step").addEventListener("click", () => conn.step());
$("reset").addEventListener("click", () => conn.reset());
$("export").addEventListener("click", () => conn.exportToml());
$("speed").addEventListener("input", () => {
  const v = SPEEDS[Number($("speed").value)];
  $("speed-out").textContent = v === null ? "max" : `${v}/s`;
});
$("speed").addEventListener("change", () => conn.speed(SPEEDS[Number($("speed").value)]));
$("preset").addEventListener("change", () => {
  const preset = (app.options.presets || []).find((p) => p.id === $("preset").value);
  if (!preset) return;
  app.config = clone(preset.config);
  app.compare = clone(preset.compare) || null;
  app.editing = "A";
  $("compare").checked = Boolean(app.compare);
  showControls(true);
  send();
});
$("compare").addEventListener("change", () => {
  if ($("compare").checked) {
    app.compare = withSharedData(app.config, app.config);
    app.editing = "B";
  } else {
    app.compare = null;
    app.editing = "A";
  }
  $("preset").value = "";
  showControls(true);
  send();
});
$("show-test").addEventListener("change", () => {
  views.boundary.forEach((v) => { v.showTest = $("show-test").checked; });
  app.boundaryDirty = true;
});
$("activation-view").addEventListener("change", () => {
  views.charts.activationField = $("activation-view").value;
  app.dirty = true;
});
$("cost-log").addEventListener("change", () => {
  views.charts.logCost = $("cost-log").checked;
  app.dirty = true;
});

// Space plays and pauses, unless a setting has the keyboard.
document.addEventListener("keydown", (event) => {
  if (event.code !== "Space" || event.target.closest("input, select, button, textarea, a")) return;
  event.preventDefault();
  if (!$("pause").disabled) conn.pause();
  else if (!$("play").disabled) conn.play();
});

function setButtons(state) {
  const closed = state === "closed" || state === "starting";
  $("play").disabled = closed || state === "running";
  $("pause").disabled = closed || state !== "running";
  $("step").disabled = closed || state === "running";
  $("reset").disabled = closed;
  document.body.dataset.state = state;
}

function setConnection(text, kind) {
  const c = $("connection");
  c.textContent = text;
  c.className = `connection ${kind}`;
}

function showError(message, kind = "") {
  const e = $("error");
  e.textContent = message || "";
  e.className = `error ${message ? "shown" : ""} ${kind}`;
}

function clearError() {
  showError("");
}

function showCompare(on) {
  $("boundary-b-fig").hidden = !on;
  $("boundary-caption").textContent = on ? "run A" : "";
  for (const id of ["train-cost-b", "test-accuracy-b"]) $(id).hidden = !on;
  document.body.classList.toggle("comparing", on);
}

// -- drawing, once per animation frame at most --------------------------------------------------
function fmt(v, digits) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

// Frames and epochs per second over the last two seconds, while running.
function rates() {
  const now = performance.now();
  app.recent = app.recent.filter(([t]) => now - t < 2000);
  if (app.recent.length < 2) return null;
  const [t0, e0] = app.recent[0], [t1, e1] = app.recent.at(-1);
  const seconds = (t1 - t0) / 1000;
  return seconds > 0 ? {frames: (app.recent.length - 1) / seconds, epochs: (e1 - e0) / seconds} : null;
}

function showRates() {
  const r = app.state === "running" ? rates() : null;
  $("state").textContent = r ? `running · ${Math.round(r.epochs)} epochs/s · ${Math.round(r.frames)} frames/s`
                             : app.state;
}

function render() {
  app.drawn += 1;
  const comparing = Boolean(app.sent?.compare);
  const runs = comparing ? app.runs : [app.runs[0]];
  const [a, b] = app.runs;
  $("epoch").textContent = String(Math.max(0, a.lastEpoch, comparing ? b.lastEpoch : 0));   // the run ahead
  $("train-cost").textContent = fmt(a.last("cost"), 6);
  $("test-accuracy").textContent = fmt(a.last("test_accuracy"), 4);
  if (comparing) {
    const stopped = b.lastEpoch < a.lastEpoch;        // run B diverged; run A trains on
    $("train-cost-b").textContent = stopped ? `B stopped at epoch ${Math.max(0, b.lastEpoch)}` : `B ${fmt(b.last("cost"), 6)}`;
    $("test-accuracy-b").textContent = `B ${fmt(b.last("test_accuracy"), 4)}`;
  }
  views.charts.draw(runs, app.data?.task);
  const shown = comparing && app.editing === "B" ? 1 : 0;
  const cfg = shown === 1 ? app.sent.compare : app.sent?.config;
  if (views.network.network !== app.networks[shown] || views.network.output !== views.boundary[shown].image) {
    views.network.setNetwork(app.networks[shown], views.boundary[shown].image);
  }
  const small = !cfg || !app.options || drawable(cfg);          // nothing to judge before the first answer
  $("network").hidden = !small;
  $("network-too-big").hidden = small;
  if (small) views.network.draw("");
  else $("network-too-big").textContent = tooBigText();
  const which = comparing ? ` (run ${shown ? "B" : "A"})` : "";
  $("arch").textContent = architecture(cfg) + which;
  $("stats-run").textContent = which.trim();
  drawStats(app.runs[shown]);
  views.charts.drawActivations(app.runs[shown]);
}

// "2 → 5 → 2 → 1"; five or more equal layers in a row as "64 ×20".
function architecture(cfg) {
  if (!cfg || !app.data) return "";
  const inputs = (cfg.data?.features || ["x1", "x2"]).length;
  const classes = app.data.classes?.length || 2;
  const outputs = app.data.task === "multiclass" ? classes : 1;
  const parts = [];
  const hidden = cfg.model?.hidden || [];
  for (let i = 0; i < hidden.length;) {
    let j = i;
    while (j < hidden.length && hidden[j] === hidden[i]) j++;
    if (j - i >= 5) parts.push(`${hidden[i]} ×${j - i}`);
    else parts.push(...hidden.slice(i, j));
    i = j;
  }
  return [inputs, ...parts, outputs].join(" → ");
}

function drawable(cfg) {
  const limits = app.options?.limits || {};
  const hidden = cfg?.model?.hidden || [];
  return hidden.length <= limits.draw_network_max_layers && Math.max(...hidden) <= limits.draw_network_max_units;
}

function tooBigText() {
  const limits = app.options?.limits || {};
  return `The diagram draws networks of up to ${limits.draw_network_max_layers} hidden layers of up to ` +
         `${limits.draw_network_max_units} units. For deeper or wider ones, watch the gradient flow and the ` +
         `activations per layer.`;
}

function drawStats(run) {
  const sigmoidLike = run.layers.some((l) => l.saturated !== null && l.saturated !== undefined);
  const reluLike = run.layers.some((l) => l.dead !== null && l.dead !== undefined);
  const shareHead = sigmoidLike && reluLike ? "saturated / dead" : sigmoidLike ? "saturated" : reluLike ? "dead" : "saturated / dead";
  const head = `<tr><th>layer</th><th>‖∂J/∂W‖</th><th>mean</th><th>spread</th><th>${shareHead}</th></tr>`;
  const spread = Math.max(1e-12, ...run.layers.map((l) => l.act_std || 0));
  const rows = run.layers.map((l) => {
    const share = l.saturated ?? l.dead;
    const what = l.saturated !== null && l.saturated !== undefined ? "saturated" : "dead";
    const shareCell = share === null || share === undefined ? "<span class=muted>n/a</span>" :
      `<span class="bar warn" title="${what}"><i style="width:${(100 * share).toFixed(1)}%"></i></span>` +
      `<span class="num">${(100 * share).toFixed(0)}%</span>`;
    return `<tr><td>${escapeHtml(l.name)}</td><td class="num">${fmtSci(l.grad_norm)}</td>` +
           `<td class="num">${fmt(l.act_mean, 3)}</td>` +
           `<td><span class="bar"><i style="width:${(100 * (l.act_std || 0) / spread).toFixed(1)}%"></i></span>` +
           `<span class="num">${fmt(l.act_std, 3)}</span></td><td>${shareCell}</td></tr>`;
  });
  $("stats").innerHTML = head + rows.join("");
}

function escapeHtml(text) {
  const span = document.createElement("span");
  span.textContent = String(text ?? "");
  return span.innerHTML;
}

function fmtSci(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v === 0 ? "0" : v.toExponential(2);
}

let lastRates = 0;

function loop(now) {
  if (now - lastRates > 500) {
    lastRates = now;
    showRates();
  }
  if (app.dirty || app.boundaryDirty) {
    const t0 = performance.now();
    app.dirty = false;
    if (app.boundaryDirty) {
      app.boundaryDirty = false;
      views.boundary[0].draw();
      if (app.sent?.compare) views.boundary[1].draw();
    }
    render();
    app.drawMs += performance.now() - t0;
  }
  requestAnimationFrame(loop);
}

// Canvases follow their boxes when the window changes size.
const resized = new ResizeObserver(() => { app.dirty = app.boundaryDirty = true; });
for (const id of ["boundary", "boundary-b", "network"]) resized.observe($(id));

window.playground = app;       // for the browser tests and the curious: the page's state, read-only use
setButtons(app.state);
conn.open();
requestAnimationFrame(loop);
