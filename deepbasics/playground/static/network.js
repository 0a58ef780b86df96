// The network as a diagram (TensorFlow Playground's view), for networks small enough to draw:
// one column of input features, one per hidden layer, and the output. Every unit is a small
// heatmap of what it computes over the plane; every weight is a line, blue when positive, orange
// when negative, thicker for a larger |w| (relative to the largest weight of its matrix).
//
// Imports: heatmap.js (colours, canvas helpers); views.js draws the diagram with it.

import {diverging, fitCanvas, paintCells} from "./heatmap.js";

const FEATURES = {
  "x1": (a) => a, "x2": (a, b) => b, "x1^2": (a) => a * a, "x2^2": (a, b) => b * b,
  "x1*x2": (a, b) => a * b, "sin(x1)": (a) => Math.sin(a), "sin(x2)": (a, b) => Math.sin(b),
};
const FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
                        "sin(x1)": "sin x₁", "sin(x2)": "sin x₂"};
const G = 16;     // the server's unit grids are 16 x 16

// An n*n image of values scaled so that the largest |v - centre| is 1 (grid rows from x2_min up).
function tile(values, n, centre = 0) {
  let m = 1e-12;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v - centre));
  return paintCells(n, (k) => diverging((values[k] - centre) / m));
}

// A table's feature over the plane: the first axis across, the second up, any other a constant
// (it is held at its mean).
function columnFunction(name, axes) {
  if (name === axes[0]) return (a) => a;
  if (name === axes[1]) return (a, b) => b;
  return () => 0;
}

function featureTile(name, extent, axes) {
  const f = axes ? columnFunction(name, axes) : FEATURES[name];
  const [x0, x1, y0, y1] = extent;
  const values = [];
  for (let r = 0; r < G; r++) {
    for (let c = 0; c < G; c++) {
      const a = x0 + ((c + 0.5) / G) * (x1 - x0);
      const b = y0 + ((r + 0.5) / G) * (y1 - y0);
      values.push(f ? f(a, b) : 0);
    }
  }
  // Standardised inputs are centred on the data: centre each map on its own middle value.
  const sorted = [...values].sort((p, q) => p - q);
  return tile(values, G, sorted[Math.floor(sorted.length / 2)]);
}

export class NetworkView {
  constructor(canvas) {
    this.canvas = canvas;
    this.network = null;
    this.features = ["x1", "x2"];
    this.extent = null;
    this.output = null;        // the boundary image, drawn as the output unit
    this.tiles = null;
    this.featureTiles = null;
  }

  // `axes`: a table's two plane features (its other features are constant over the plane), or
  // null for a generated set's features of x1 and x2.
  setData(extent, features, axes = null) {
    this.extent = extent;
    this.features = features && features.length ? features : ["x1", "x2"];
    this.featureTiles = this.features.map((f) => featureTile(f, extent, axes));
  }

  setNetwork(network, output) {
    this.network = network;
    this.output = output;
    this.tiles = network ? network.units.map((layer) => layer.map((u) => tile(u.grid, G))) : null;
  }

  draw(tooBigMessage) {
    const {ctx, w, h} = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    if (!this.network || !this.featureTiles) {
      ctx.fillStyle = "#57606a";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(tooBigMessage || "", w / 2, h / 2, w - 20);
      ctx.textAlign = "start";
      return;
    }
    const columns = [this.featureTiles, ...this.tiles, [this.output]];
    const most = Math.max(...columns.map((c) => c.length));
    const size = Math.max(16, Math.min(36, Math.floor((h - 24) / most) - 6));
    ctx.font = "11px system-ui, sans-serif";
    const label = (f) => {
      const text = FEATURE_LABELS[f] ?? f;
      return text.length > 14 ? `${text.slice(0, 13)}…` : text;
    };
    const left = 8 + Math.max(...this.features.map((f) => ctx.measureText(label(f)).width));
    const gap = (w - left - 20 - size) / (columns.length - 1);
    const pos = columns.map((col, j) => col.map((_, i) => ({
      x: left + j * gap,
      y: 16 + (h - 24 - col.length * (size + 6)) / 2 + i * (size + 6),
    })));
    this.edges(ctx, pos, size);
    columns.forEach((col, j) => col.forEach((img, i) => {
      const {x, y} = pos[j][i];
      ctx.imageSmoothingEnabled = true;
      if (img) ctx.drawImage(img, x, y, size, size);
      else { ctx.fillStyle = "#eaeef2"; ctx.fillRect(x, y, size, size); }
      ctx.strokeStyle = "#8c959f";
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, y + 0.5, size - 1, size - 1);
    }));
    ctx.fillStyle = "#57606a";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    this.features.forEach((f, i) => ctx.fillText(label(f), pos[0][i].x - 3, pos[0][i].y + size / 2 + 4));
    ctx.textAlign = "center";
    const heads = ["inputs", ...this.tiles.map((_, l) => `layer ${l + 1}`), "output"];
    heads.forEach((t, j) => ctx.fillText(t, pos[j][0].x + size / 2, 10));
    ctx.textAlign = "start";
  }

  edges(ctx, pos, size) {
    this.network.weights.forEach((W, l) => {
      let m = 1e-12;
      for (const row of W) for (const v of row) m = Math.max(m, Math.abs(v));
      W.forEach((row, o) => row.forEach((v, i) => {
        const from = pos[l]?.[i], to = pos[l + 1]?.[o];
        if (!from || !to) return;
        const t = Math.abs(v) / m;
        const [R, G2, B] = diverging(Math.sign(v) * 1);
        ctx.strokeStyle = `rgba(${R | 0},${G2 | 0},${B | 0},${0.25 + 0.7 * t})`;
        ctx.lineWidth = 0.4 + 4 * t;
        const x0 = from.x + size, y0 = from.y + size / 2, x1 = to.x, y1 = to.y + size / 2;
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
        ctx.stroke();
      }));
    });
  }
}
