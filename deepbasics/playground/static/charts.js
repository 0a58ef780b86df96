// The curves over the epochs, drawn with uPlot: cost (train and test), accuracy, learning rate,
// and the gradient flow (each layer's weight-gradient norm on a log scale).
//
// `RunHistory` keeps one run's numbers as the frames bring them. Long runs are thinned (every
// other old point dropped once MAX_POINTS is reached), so that drawing stays cheap after
// hundreds of thousands of epochs; the newest points are always kept.
//
// Imports: the vendored uPlot only. The page's state (state.js) keeps a RunHistory per run;
// views.js draws the curves with it.

import uPlot from "./vendor/uplot/uPlot.esm.js";

const MAX_POINTS = 4000;
export const RUN_COLORS = {A: "#0b6fb0", B: "#d9480f"};
const FIELDS = ["epoch", "cost", "test_cost", "accuracy", "test_accuracy", "lr"];

function thin(arrays) {
  const n = arrays[0].length;
  const keepTail = Math.floor(MAX_POINTS / 4);
  const head = n - keepTail;
  return arrays.map((a) => a.filter((_, i) => i >= head || i % 2 === 0));
}

export class RunHistory {
  constructor() {
    this.clear();
  }

  clear() {
    this.points = Object.fromEntries(FIELDS.map((f) => [f, []]));
    // Per Dense layer l, one value per frame: grad[l] the weight-gradient norm, std[l], mean[l]
    // the activations' spread and mean, share[l] the saturated or dead share.
    this.perLayer = emptyPerLayer(0);
    this.layers = [];
    this.lastEpoch = -1;
  }

  add(run) {
    const p = run.points || {};
    const count = (p.epoch || []).length;
    for (const f of FIELDS) {
      const src = p[f] || [];
      for (let i = 0; i < count; i++) this.points[f].push(src[i] ?? null);
    }
    if (this.points.epoch.length > MAX_POINTS) {
      const thinned = thin(FIELDS.map((f) => this.points[f]));
      FIELDS.forEach((f, i) => { this.points[f] = thinned[i]; });
    }
    if (run.layers && run.layers.length) {
      this.layers = run.layers;
      if (this.perLayer.grad.length !== run.layers.length) this.perLayer = emptyPerLayer(run.layers.length);
      const h = this.perLayer;
      h.epoch.push(run.epoch);
      run.layers.forEach((layer, l) => {
        h.grad[l].push(positive(layer.grad_norm));
        h.std[l].push(positive(layer.act_std));
        h.mean[l].push(Number.isFinite(layer.act_mean) ? layer.act_mean : null);
        h.share[l].push(layer.saturated ?? layer.dead ?? null);
      });
      if (h.epoch.length > MAX_POINTS) {
        const L = h.grad.length;
        const thinned = thin([h.epoch, ...h.grad, ...h.std, ...h.mean, ...h.share]);
        this.perLayer = {epoch: thinned[0], grad: thinned.slice(1, 1 + L), std: thinned.slice(1 + L, 1 + 2 * L),
                         mean: thinned.slice(1 + 2 * L, 1 + 3 * L), share: thinned.slice(1 + 3 * L)};
      }
    }
    this.lastEpoch = run.epoch;
  }

  last(field) {
    const a = this.points[field];
    for (let i = a.length - 1; i >= 0; i--) if (a[i] !== null && a[i] !== undefined) return a[i];
    return null;
  }
}

function emptyPerLayer(L) {
  const lists = () => Array.from({length: L}, () => []);
  return {epoch: [], grad: lists(), std: lists(), mean: lists(), share: lists()};
}

// A value a log axis can draw, else a gap.
function positive(v) {
  return Number.isFinite(v) && v > 0 ? v : null;
}

// Layer l of L: dark blue (first) to yellow-green (last), readable on white.
export function layerColor(l, L) {
  const t = L <= 1 ? 0 : l / (L - 1);
  const stops = [[49, 54, 149], [69, 117, 180], [116, 173, 209], [102, 189, 99], [217, 165, 33]];
  const x = t * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function width(el) {
  return Math.max(200, Math.floor(el.clientWidth || 400));
}

// One uPlot chart that is rebuilt when its series change (runs or layers) and fed with setData.
class Chart {
  constructor(el, height) {
    this.el = el;
    this.height = height;
    this.plot = null;
    this.key = null;
    new ResizeObserver(() => {
      if (this.plot && Math.abs(this.plot.width - width(this.el)) > 2) {
        this.plot.setSize({width: width(this.el), height: this.height});
      }
    }).observe(el);
  }

  draw(key, makeOptions, data) {
    this.el.classList.toggle("empty", data[0].length === 0);
    if (key !== this.key || !this.plot) {
      this.plot?.destroy();
      this.el.replaceChildren();
      this.plot = new uPlot({width: width(this.el), height: this.height, ...makeOptions()}, data, this.el);
      this.key = key;
    } else {
      this.plot.setData(data);
    }
  }
}

const AXIS = {stroke: "#57606a", grid: {stroke: "#eaeef2", width: 1}, ticks: {stroke: "#d0d7de", width: 1}};

// Whole epochs between ticks: 1, 2, 5, 10, 20, 50, ...
const EPOCH_STEPS = Array.from({length: 24}, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

// Tick labels that stay readable from 1e-6 to 1e6.
export function tick(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e", "e");
  return String(Number(v.toPrecision(3)));
}

// At most about eight labels on an axis; a log axis labels its powers of ten only (every few of
// them over many decades), unless it spans less than one.
function ticks(u, splits, axisIndex) {
  const log = u.scales[u.axes[axisIndex].scale]?.distr === 3;
  const decades = splits.filter((v) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
  if (log && decades.length >= 2) {
    const every = Math.ceil(decades.length / 8);
    const keep = new Set(decades.filter((_, i) => i % every === 0));
    return splits.map((v) => (keep.has(v) ? tick(v) : ""));
  }
  const every = Math.ceil(splits.length / 8);
  return splits.map((v, i) => (i % every === 0 ? tick(v) : ""));
}

function baseOptions(series, {log = false, yLabel = "", legend = true} = {}) {
  return {
    series: [{label: "epoch"}, ...series],
    scales: {x: {time: false}, y: log ? {distr: 3} : {}},
    axes: [{...AXIS, label: "epoch", labelSize: 18, size: 36, incrs: EPOCH_STEPS},
           {...AXIS, label: yLabel, labelSize: 18, size: 58, values: ticks}],
    legend: {show: legend, live: false},
    cursor: {drag: {x: true, y: false}},
  };
}

function line(label, color, dash, extra = {}) {
  return {label, stroke: color, width: 1.6, dash, spanGaps: true, points: {size: 4}, ...extra};
}

// A run's values at `epochs` (another run's: they train in lockstep until one diverges and stops;
// an epoch the run lacks is a gap).
function aligned(epochs, other) {
  const at = new Map();
  other.points.epoch.forEach((e, i) => at.set(e, i));
  return (field) => epochs.map((e) => {
    const i = at.get(e);
    return i === undefined ? null : other.points[field][i];
  });
}

export class Charts {
  constructor({cost, accuracy, lr, grad, gradB, activations}) {
    this.cost = new Chart(cost, 210);
    this.accuracy = new Chart(accuracy, 150);
    this.lr = new Chart(lr, 150);
    this.grad = new Chart(grad, 220);
    this.gradB = new Chart(gradB, 220);
    this.gradBEl = gradB;
    this.activations = new Chart(activations, 190);
    this.activationField = "std";
    this.logCost = false;
  }

  draw(runs, task) {
    const [a, b] = runs;
    const labels = runs.length > 1 ? ["A ", "B "] : ["", ""];
    const base = b && b.points.epoch.length > a.points.epoch.length ? b : a;      // the run that went further
    const x = base.points.epoch;
    const getters = runs.map((r) => (r === base ? (field) => r.points[field] : aligned(x, r)));
    const pick = (field) => getters.map((get) => get(field));
    const key = `${runs.length}|${this.logCost}`;

    // Each run's training curve (solid) and test curve (dashed), in the run's colour.
    const trainAndTest = (trainField, testField) => {
      const train = pick(trainField), test = pick(testField);
      const series = [], data = [x];
      runs.forEach((_, i) => {
        const color = RUN_COLORS[i ? "B" : "A"];
        series.push(line(`${labels[i]}train`, color, undefined), line(`${labels[i]}test`, color, [6, 4]));
        data.push(train[i], test[i]);
      });
      return {series, data};
    };
    const cost = trainAndTest("cost", "test_cost");
    this.cost.draw(key, () => baseOptions(cost.series, {log: this.logCost, yLabel: "cost"}), cost.data);

    if (task !== "regression") {
      const acc = trainAndTest("accuracy", "test_accuracy");
      this.accuracy.draw(`${runs.length}`, () => baseOptions(acc.series, {yLabel: "accuracy"}), acc.data);
    }

    const lrs = pick("lr");
    this.lr.draw(`${runs.length}`, () => baseOptions(
      runs.map((_, i) => line(`${labels[i]}learning rate`, RUN_COLORS[i ? "B" : "A"], undefined)),
      {yLabel: "learning rate"}), [x, ...lrs]);

    this.drawLayers(this.grad, a, "grad", runs.length > 1 ? "run A: ‖∂J/∂W‖" : "‖∂J/∂W‖");
    this.gradBEl.hidden = !b;
    if (b) this.drawLayers(this.gradB, b, "grad", "run B: ‖∂J/∂W‖");
  }

  // One line per layer of `run`'s per-layer history `field` (see RunHistory.perLayer).
  drawLayers(chart, run, field, yLabel) {
    const h = run.perLayer;
    const L = h[field].length;
    if (!L) return;
    const series = h[field].map((_, l) => line(run.layers[l]?.name ?? `layer ${l + 1}`, layerColor(l, L),
                                               undefined, {width: 1.4}));
    const log = field === "grad" || field === "std";
    chart.draw(`${L}|${field}|${yLabel}`, () => {
      const options = baseOptions(series, {log, yLabel, legend: L <= 8});
      if (field === "share") options.scales.y = {range: [0, 1]};
      return options;
    }, [h.epoch, ...h[field]]);
  }

  // The activations over time of the run the page shows in its table.
  drawActivations(run) {
    const labels = {std: "spread (log)", mean: "mean", share: "saturated / dead share"};
    this.drawLayers(this.activations, run, this.activationField, labels[this.activationField]);
  }
}
