// Everything the page shows, drawn from the state in one place: the indicators (buttons, status,
// connection, error line), the readouts, the charts, the boundary heatmaps, the network diagram
// and the layer table. `sync()` shows at once what a message changed; `frame(now)` redraws, at
// most once per animation frame, what the state marks as stale (state.js names the parts).
// The canvases and charts keep only what they drew; the state stays in state.js.
//
// Imports: state.js, tables.js and the drawing modules (heatmap.js, network.js, charts.js).

import {app, comparing, countRedraw, invalidate, rates, shownRun, take} from "./state.js";
import {architecture, drawable, fmt, statsHtml, tooBigText} from "./tables.js";
import {BoundaryView} from "./heatmap.js";
import {Charts} from "./charts.js";
import {NetworkView} from "./network.js";
import {explainHtml, legendNodes, planeNote} from "./legend.js";

const $ = (id) => document.getElementById(id);

// The status readout: the state, and where in its epoch a run paused mid-epoch waits.
function stateText() {
  const w = app.within;
  if (app.state !== "paused" || !w) return app.state;
  return `paused mid-epoch · update ${w.update.toLocaleString("en")} of ${w.of.toLocaleString("en")}`;
}

export class Views {
  constructor() {
    this.boundary = [new BoundaryView($("boundary")), new BoundaryView($("boundary-b"))];
    this.network = new NetworkView($("network"));
    this.charts = new Charts({cost: $("chart-cost"), accuracy: $("chart-accuracy"), lr: $("chart-lr"),
                              grad: $("chart-grad"), gradB: $("chart-grad-b"), activations: $("chart-activations")});
    this.painted = [null, null];       // the boundary grids the heatmaps hold
    this.networkInputs = null;         // the extent and features the diagram's input column shows
    this.lastRates = 0;
    // Canvases follow their boxes when the window changes size.
    const resized = new ResizeObserver(() => invalidate("views", "boundary"));
    for (const id of ["boundary", "boundary-b", "network"]) resized.observe($(id));
  }

  // -- at once, after each message ---------------------------------------------------------------
  sync() {
    if (take("buttons")) this.showButtons();
    if (take("state")) $("state").textContent = stateText();
    if (take("connection")) {
      $("connection").textContent = app.connection.text;
      $("connection").className = `connection ${app.connection.kind}`;
    }
    if (take("alert")) {
      const {message, kind} = app.alert;
      $("error").textContent = message;
      $("error").className = `error ${message ? "shown" : ""} ${kind}`;
    }
    if (take("session")) this.showSession();
    app.grids.forEach((grid, i) => {
      if (grid !== this.painted[i]) this.boundary[i].setGrid(grid);
      this.painted[i] = grid;
    });
  }

  showButtons() {
    const state = app.state;
    const closed = state === "closed" || state === "starting";
    $("play").disabled = closed || state === "running";
    $("pause").disabled = closed || state !== "running";
    $("step").disabled = closed || state === "running";
    $("reset").disabled = closed;
    document.body.dataset.state = state;
  }

  // A new `data`: the points under the heatmaps, their explanation, legend and plane, one boundary
  // or two; a regression shows the test MSE where a classifier shows its accuracy.
  showSession() {
    const data = app.data;
    this.boundary.forEach((v) => v.setData(data));
    this.painted = [null, null];
    $("boundary-explain").innerHTML = explainHtml(data);
    $("legend").replaceChildren(...legendNodes(data));
    const note = planeNote(data);
    $("plane-note").textContent = note;
    $("plane-note").hidden = !note;
    const on = comparing(), regression = data.task === "regression";
    $("boundary-b-fig").hidden = !on;
    $("boundary-caption").textContent = on ? "run A" : "";
    $("accuracy-readout").hidden = regression;
    $("mse-readout").hidden = !regression;
    $("accuracy-card").hidden = regression;
    for (const id of ["train-cost-b", "test-accuracy-b", "test-mse-b"]) $(id).hidden = !on;
    document.body.classList.toggle("comparing", on);
  }

  // -- once per animation frame at most ------------------------------------------------------------
  frame(now) {
    this.sync();                       // what changed outside a message (an upload's answer)
    if (now - this.lastRates > 500) {
      this.lastRates = now;
      this.showRates(now);
    }
    const boundary = take("boundary");
    if (!take("views") && !boundary) return;
    const t0 = performance.now();
    if (boundary) {
      this.boundary.forEach((v) => { v.showTest = app.showTest; });
      this.boundary[0].draw();
      if (comparing()) this.boundary[1].draw();
    }
    this.draw();
    countRedraw(performance.now() - t0);
  }

  // The status readout; while running, the epochs and frames per second of the last two seconds.
  showRates(now) {
    const r = app.state === "running" ? rates(now) : null;
    $("state").textContent = r ? `running · ${Math.round(r.epochs)} epochs/s · ${Math.round(r.frames)} frames/s`
                               : stateText();
  }

  draw() {
    const both = comparing();
    const shown = shownRun();
    this.showReadouts(both);
    this.charts.logCost = app.logCost;
    this.charts.activationField = app.activationField;
    this.charts.draw(both ? app.runs : [app.runs[0]], app.data?.task);
    const cfg = shown === 1 ? app.sent.compare : app.sent?.config;
    this.drawNetwork(shown, cfg);
    const which = both ? ` (run ${shown ? "B" : "A"})` : "";
    $("arch").textContent = architecture(cfg, app.data) + which;
    $("stats-run").textContent = which.trim();
    $("stats").innerHTML = statsHtml(app.runs[shown]);
    this.charts.drawActivations(app.runs[shown]);
  }

  // The epoch (of the run ahead), the training cost and the test accuracy; run B's beside them.
  showReadouts(both) {
    const [a, b] = app.runs;
    $("epoch").textContent = String(Math.max(0, a.lastEpoch, both ? b.lastEpoch : 0));
    $("train-cost").textContent = fmt(a.last("cost"), 6);
    $("test-accuracy").textContent = fmt(a.last("test_accuracy"), 4);
    $("test-mse").textContent = fmt(a.last("test_cost"), 6);
    if (both) {
      const stopped = b.lastEpoch < a.lastEpoch;        // run B diverged; run A trains on
      $("train-cost-b").textContent = stopped ? `B stopped at epoch ${Math.max(0, b.lastEpoch)}` : `B ${fmt(b.last("cost"), 6)}`;
      $("test-accuracy-b").textContent = `B ${fmt(b.last("test_accuracy"), 4)}`;
      $("test-mse-b").textContent = `B ${fmt(b.last("test_cost"), 6)}`;
    }
  }

  // The diagram of run `shown` (configuration `cfg`), or a line saying it is too big to draw.
  drawNetwork(shown, cfg) {
    const view = this.network;
    const extent = app.data?.extent || [-1, 1, -1, 1];
    const table = Boolean(app.data?.columns?.length);
    const features = table ? app.data.features : app.config?.data?.features;
    const axes = table ? app.data.axes : null;
    const inputs = JSON.stringify([extent, features, axes]);
    if (inputs !== this.networkInputs) {
      this.networkInputs = inputs;
      view.setData(extent, features, axes);
    }
    if (view.network !== app.networks[shown] || view.output !== this.boundary[shown].image) {
      view.setNetwork(app.networks[shown], this.boundary[shown].image);
    }
    const limits = app.options?.limits;
    const small = !cfg || !app.options || drawable(cfg, limits, app.data);   // nothing to judge before the first answer
    $("network").hidden = !small;
    $("network-too-big").hidden = small;
    if (small) view.draw("");
    else $("network-too-big").textContent = tooBigText(limits);
  }
}
