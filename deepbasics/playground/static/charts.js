// The curves over the epochs, drawn with uPlot: cost (train and test), accuracy, learning rate,
// and the gradient flow (each layer's weight-gradient norm on a log scale).
//
// `RunHistory` keeps one run's numbers as the frames bring them. Long runs are thinned (every
// other old point dropped once MAX_POINTS is reached), so that drawing stays cheap after
// hundreds of thousands of epochs; the newest points are always kept.

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
    this.grad = {epoch: [], norms: []};      // norms[l]: layer l's gradient norm per recorded frame
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
      if (this.grad.norms.length !== run.layers.length) this.grad = {epoch: [], norms: run.layers.map(() => [])};
      this.grad.epoch.push(run.epoch);
      run.layers.forEach((layer, l) => {
        const g = layer.grad_norm;
        this.grad.norms[l].push(Number.isFinite(g) && g > 0 ? g : null);
      });
      if (this.grad.epoch.length > MAX_POINTS) {
        const thinned = thin([this.grad.epoch, ...this.grad.norms]);
        this.grad = {epoch: thinned[0], norms: thinned.slice(1)};
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

// Tick labels that stay readable from 1e-6 to 1e6.
export function tick(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e", "e");
  return String(Number(v.toPrecision(3)));
}

// At most about eight labels on an axis (a log axis over many decades labels every few).
function ticks(u, splits) {
  const every = Math.ceil(splits.length / 8);
  return splits.map((v, i) => (i % every === 0 ? tick(v) : ""));
}

function baseOptions(series, {log = false, yLabel = "", legend = true} = {}) {
  return {
    series: [{label: "epoch"}, ...series],
    scales: {x: {time: false}, y: log ? {distr: 3} : {}},
    axes: [{...AXIS, label: "epoch", labelSize: 18, size: 36},
           {...AXIS, label: yLabel, labelSize: 18, size: 58, values: ticks}],
    legend: {show: legend, live: false},
    cursor: {drag: {x: true, y: false}},
  };
}

function line(label, color, dash, extra = {}) {
  return {label, stroke: color, width: 1.6, dash, spanGaps: true, points: {show: false}, ...extra};
}

// Align run B's values to run A's epochs (the runs train in lockstep; a gap stays a gap).
function aligned(epochs, other) {
  if (!other) return () => epochs.map(() => null);
  const at = new Map();
  other.points.epoch.forEach((e, i) => at.set(e, i));
  return (field) => epochs.map((e) => {
    const i = at.get(e);
    return i === undefined ? null : other.points[field][i];
  });
}

export class Charts {
  constructor({cost, accuracy, lr, grad, gradB}) {
    this.cost = new Chart(cost, 210);
    this.accuracy = new Chart(accuracy, 150);
    this.lr = new Chart(lr, 150);
    this.grad = new Chart(grad, 220);
    this.gradB = new Chart(gradB, 220);
    this.gradBEl = gradB;
    this.logCost = false;
  }

  draw(runs, task) {
    const [a, b] = runs;
    const labels = runs.length > 1 ? ["A ", "B "] : ["", ""];
    const x = a.points.epoch;
    const fromB = b ? aligned(x, b) : null;
    const pick = (field) => [a.points[field], ...(b ? [fromB(field)] : [])];
    const key = `${runs.length}|${this.logCost}`;

    const costs = pick("cost"), tests = pick("test_cost");
    const costSeries = [], costData = [x];
    runs.forEach((_, i) => {
      const color = RUN_COLORS[i ? "B" : "A"];
      costSeries.push(line(`${labels[i]}train`, color, undefined), line(`${labels[i]}test`, color, [6, 4]));
      costData.push(costs[i], tests[i]);
    });
    this.cost.draw(key, () => baseOptions(costSeries, {log: this.logCost, yLabel: "cost"}), costData);

    if (task !== "regression") {
      const acc = pick("accuracy"), tacc = pick("test_accuracy");
      const accSeries = [], accData = [x];
      runs.forEach((_, i) => {
        const color = RUN_COLORS[i ? "B" : "A"];
        accSeries.push(line(`${labels[i]}train`, color, undefined), line(`${labels[i]}test`, color, [6, 4]));
        accData.push(acc[i], tacc[i]);
      });
      this.accuracy.draw(`${runs.length}`, () => baseOptions(accSeries, {yLabel: "accuracy"}), accData);
    }

    const lrs = pick("lr");
    this.lr.draw(`${runs.length}`, () => baseOptions(
      runs.map((_, i) => line(`${labels[i]}learning rate`, RUN_COLORS[i ? "B" : "A"], undefined)),
      {yLabel: "learning rate"}), [x, ...lrs]);

    this.drawGrad(this.grad, a, runs.length > 1 ? "A" : "");
    this.gradBEl.hidden = !b;
    if (b) this.drawGrad(this.gradB, b, "B");
  }

  drawGrad(chart, run, label) {
    const L = run.grad.norms.length;
    if (!L) return;
    const series = run.grad.norms.map((_, l) => line(run.layers[l]?.name ?? `layer ${l + 1}`, layerColor(l, L),
                                                     undefined, {width: 1.4}));
    chart.draw(`${L}|${label}`, () => {
      const options = baseOptions(series, {log: true, yLabel: `${label ? `run ${label}: ` : ""}‖∂J/∂W‖`,
                                           legend: L <= 8});
      return options;
    }, [run.grad.epoch, ...run.grad.norms]);
  }
}
