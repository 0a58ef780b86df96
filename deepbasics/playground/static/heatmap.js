// The decision boundary: the server's grid of predictions over the plane as a heatmap, with the
// data points drawn on top (training points always, test points on demand).
//
// Grid layout (PROTOCOL.md): n*n values, row-major from x2_min upward, x1 varying fastest; the
// canvas puts x2_max at the top, so grid row r is drawn at canvas row n-1-r.
//
// Imports nothing; views.js draws the boundaries with it, network.js borrows its colours and
// canvas helpers.

// Class colours: orange for class 0, blue for class 1 (as TensorFlow Playground), then more.
export const CLASS_COLORS = [[245, 147, 34], [8, 119, 189], [46, 160, 67], [200, 60, 130], [120, 90, 200],
                             [150, 110, 60], [30, 170, 170], [220, 60, 50], [110, 110, 110], [170, 170, 40]];
const WHITE = [255, 255, 255];
const AXIS_LABELS = {x1: "x₁", x2: "x₂"};

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// A value in [-1, 1] as orange (negative) - white - blue (positive).
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  return t < 0 ? mix(WHITE, CLASS_COLORS[0], -t) : mix(WHITE, CLASS_COLORS[1], t);
}

// The colour of one grid value for the task: p(class 1), a class index, or a regression value.
function cellColor(v, task, scale) {
  if (task === "multiclass") return mix(WHITE, CLASS_COLORS[Math.round(v) % CLASS_COLORS.length], 0.55);
  if (task === "regression") return mix(WHITE, diverging((v - scale.mid) / scale.half), 0.85);
  return mix(WHITE, diverging(2 * v - 1), 0.8);     // binary: p = 0.5 is white
}

export function regressionScale(data) {
  const ys = data?.train?.y || [];
  let lo = Infinity, hi = -Infinity;
  for (const y of ys) { if (y < lo) lo = y; if (y > hi) hi = y; }
  if (!Number.isFinite(lo)) return {mid: 0, half: 1};
  return {mid: (lo + hi) / 2, half: Math.max((hi - lo) / 2, 1e-12)};
}

// Paint `grid` ({n, values}) into an n x n image.
export function gridImage(grid, task, data) {
  const scale = task === "regression" ? regressionScale(data) : null;
  return paintCells(grid.n, (k) => cellColor(grid.values[k], task, scale));
}

// An n x n canvas whose cell k = r * n + c gets the colour colorAt(k) ([R, G, B]); grid rows run
// from x2_min upwards, so row r is drawn n - 1 - r pixels from the top.
export function paintCells(n, colorAt) {
  const canvas = document.createElement("canvas");
  canvas.width = n;
  canvas.height = n;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const [R, G, B] = colorAt(r * n + c);
      const i = ((n - 1 - r) * n + c) * 4;
      img.data[i] = R; img.data[i + 1] = G; img.data[i + 2] = B; img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

// Size a canvas's backing store to its CSS box times the device pixel ratio; returns the CSS size.
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return {ctx, w, h};
}

export class BoundaryView {
  constructor(canvas) {
    this.canvas = canvas;
    this.data = null;
    this.image = null;          // the last grid, painted
    this.showTest = false;
  }

  setData(data) {
    this.data = data;
    this.image = null;
  }

  setGrid(grid) {
    if (grid && this.data) this.image = gridImage(grid, this.data.task, this.data);
  }

  draw() {
    const {ctx, w, h} = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#f4f6f8";
    ctx.fillRect(0, 0, w, h);
    if (this.image) {
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.image, 0, 0, w, h);
    }
    if (!this.data) {
      ctx.fillStyle = "#8c959f";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("preparing the data and the network…", w / 2, h / 2);
      ctx.textAlign = "start";
      return;
    }
    this.points(ctx, w, h, this.data.train, false);
    if (this.showTest) this.points(ctx, w, h, this.data.test, true);
    this.axes(ctx, w, h);
  }

  points(ctx, w, h, split, isTest) {
    if (!split || !split.x) return;
    const [x0, x1, y0, y1] = this.data.extent;
    const task = this.data.task;
    const scale = task === "regression" ? regressionScale(this.data) : null;
    const radius = split.x.length > 2000 ? 2.2 : 3.2;
    ctx.lineWidth = isTest ? 1.4 : 1;
    ctx.strokeStyle = isTest ? "#1b1f24" : "rgba(255,255,255,0.95)";
    for (let i = 0; i < split.x.length; i++) {
      const [a, b] = split.x[i];
      const px = ((a - x0) / (x1 - x0)) * w;
      const py = h - ((b - y0) / (y1 - y0)) * h;
      const y = split.y[i];
      const [R, G, B] = task === "regression" ? diverging((y - scale.mid) / scale.half)
                                              : CLASS_COLORS[y % CLASS_COLORS.length];
      ctx.fillStyle = `rgb(${R | 0},${G | 0},${B | 0})`;
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
  }

  axes(ctx, w, h) {
    const [x0, x1, y0, y1] = this.data.extent;
    const [a, b] = (this.data.axes || ["x1", "x2"]).map((n) => AXIS_LABELS[n] ?? n);
    const number = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(2));
    ctx.fillStyle = "rgba(27,31,36,0.6)";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    ctx.textAlign = "center";
    ctx.fillText(`${a} from ${number(x0)} to ${number(x1)}`, w / 2, h - 3, w - 8);
    ctx.save();
    ctx.translate(4, h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "top";
    ctx.fillText(`${b} from ${number(y0)} to ${number(y1)}`, 0, 0, h - 8);
    ctx.restore();
    ctx.textAlign = "start";
  }
}
