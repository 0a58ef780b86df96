// The settings panel's Data part: the data set (points in the plane, regression on the plane, the
// library's tables, or the learner's own file), the file picker, and for a table its target, its
// feature columns and the two features that span the plane the views draw.
//
// Everything here edits `data` (and `split`) of the configuration the panel edits, through the
// panel's own helpers (controls.js); what the data offer comes from `panel.context()`:
//   {columns: [{name, kind}], axes: [a, b] or null, upload: {name, fingerprint, ...} or null,
//    needsFile: {name, fingerprint} or null}
//
// Imports: controls.js (el), config.js and files.js (the settings of a new file).

import {el} from "./controls.js";
import {getPath} from "./config.js";
import {fileData} from "./files.js";

export const DATASET_LABELS = {
  moons: "Moons", circles: "Circles", spirals: "Spirals", xor: "XOR", blobs: "Blobs",
  plane: "Tilted plane", gaussians: "Gaussian bumps",
  iris: "Iris (4 features, 3 classes)", wine: "Wine (13 features, 3 classes)",
  breast_cancer: "Breast cancer (30 features, 2 classes)", digits: "Digits (64 pixels, 10 classes)",
};
// The settings each generated data set takes beyond n_samples and seed (datasets.GENERATED).
const DATA_EXTRAS = {
  moons: ["noise"], circles: ["noise", "factor"], spirals: ["noise", "n_classes"], xor: ["noise"],
  blobs: ["centers", "cluster_std"], plane: ["noise"], gaussians: ["noise"],
};
const EXTRA_FIELDS = {
  noise: {label: "noise", kind: "float", min: 0, step: 0.05, hint: "standard deviation of the noise"},
  factor: {label: "inner radius", kind: "float", min: 0, max: 1, step: 0.05, hint: "inner circle / outer circle"},
  n_classes: {label: "arms", kind: "int", min: 2, hint: "number of spiral arms (classes)"},
  centers: {label: "blobs", kind: "int", min: 1, hint: "number of blobs (classes)"},
  cluster_std: {label: "blob spread", kind: "float", min: 0, step: 0.1, hint: "standard deviation of each blob"},
};
const GENERATED_KEYS = ["n_samples", "seed", "noise", "factor", "n_classes", "n_features", "centers", "cluster_std"];
export const FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
                               "sin(x1)": "sin x₁", "sin(x2)": "sin x₂"};
const TASK_LABELS = {auto: "auto (from the target)", classification: "classification", regression: "regression"};

// "generated", "table" (bundled) or "file".
export function kindOf(name, options) {
  if ((options.files || ["csv", "parquet"]).includes(name)) return "file";
  if ((options.tables || []).includes(name)) return "table";
  return "generated";
}

// What, beyond the configuration, decides how the Data part looks (a change rebuilds the panel).
export function dataSignature(config, ctx) {
  return [config.data?.target, (ctx.columns || []).map((c) => c.name), ctx.upload?.fingerprint,
          Boolean(ctx.needsFile)];
}

export function dataSection(panel) {
  const sharing = panel.run === "B";
  const s = panel.section("Data", sharing ? "Run B trains on run A's data and split." : null);
  const data = panel.target.data || {};
  const ctx = panel.context();
  s.append(panel.row("data set", nameSelect(panel, ctx)));
  if (!sharing) s.append(uploadRow(panel, ctx));
  const kind = kindOf(data.name, panel.options);
  if (kind === "generated") generatedRows(panel, s, data);
  else tableRows(panel, s, data, ctx, kind);
  if (sharing) for (const input of s.querySelectorAll("input, select, button")) input.disabled = true;
  return s;
}

// The data set: grouped into points, regression, tables and the uploaded file.
function nameSelect(panel, ctx) {
  const options = panel.options;
  const regression = options.regression || [];
  const groups = [["Points in the plane", (options.datasets || []).filter((d) => !regression.includes(d))],
                  ["Regression on the plane", regression], ["Tables", options.tables || []]];
  const s = el("select", {"data-key": "data.name", "data-testid": "dataset"});
  for (const [label, names] of groups) {
    const group = el("optgroup", {label});
    for (const name of names) group.append(el("option", {value: name, text: DATASET_LABELS[name] ?? name}));
    if (names.length) s.append(group);
  }
  const data = panel.target.data || {};
  if (ctx.upload) {
    s.append(el("optgroup", {label: "Your file"},
                el("option", {value: ctx.upload.format, text: ctx.upload.name})));
  } else if (kindOf(data.name, options) === "file") {              // a link's file, not uploaded yet
    s.append(el("optgroup", {label: "Your file"},
                el("option", {value: data.name, text: `${data.path ?? "your file"} (not uploaded yet)`})));
  }
  s.addEventListener("change", () => {
    switchData(panel, s.value, ctx);
    panel.edit("data.name", s.value);
  });
  return s;
}

// Another data set: the settings that belong to the old one and not the new one go.
function switchData(panel, name, ctx) {
  const old = panel.target.data || {};
  const kind = kindOf(name, panel.options);
  if (kind === "file") {
    panel.target.data = fileData(ctx.upload, old.path === ctx.upload.name ? old : null);
  } else if (kind === "table") {
    panel.target.data = {name};                  // standardised: a table's columns have their own units
  } else {
    const stays = kindOf(old.name, panel.options) === "generated" && old.standardize === false;
    const next = stays ? {name, standardize: false} : {name};
    for (const k of GENERATED_KEYS) {
      const taken = ["n_samples", "seed"].includes(k) || (DATA_EXTRAS[name] || []).includes(k);
      if (old[k] !== undefined && taken) next[k] = old[k];
    }
    const plane = panel.options.features || [];
    if (old.features && old.features.every((f) => plane.includes(f))) next.features = old.features;
    panel.target.data = next;
  }
}

function uploadRow(panel, ctx) {
  const limits = panel.options.limits || {};
  const input = el("input", {type: "file", accept: ".csv,.parquet,.pq", "data-testid": "upload", "data-key": "@upload",
                             class: "file", "aria-label": "your own data: a CSV or Parquet file"});
  input.addEventListener("change", () => {
    if (input.files.length) panel.onFile(input.files[0]);
    input.value = "";
  });
  const rows = (limits.max_rows ?? 100000).toLocaleString("en");
  const box = el("div", {class: "upload"}, input,
                 el("span", {class: "note", "data-testid": "upload-limits",
                             text: `CSV or Parquet, up to ${limits.max_upload_mb ?? 20} MB and ${rows} rows; ` +
                                   "or drop it anywhere on the page"}));
  if (ctx.needsFile) {
    box.append(el("p", {class: "needs-file", "data-testid": "needs-file",
                        text: `This link trains on ${ctx.needsFile.name} (fingerprint ${ctx.needsFile.fingerprint}): ` +
                              "choose or drop that file to go on."}));
  }
  return panel.row("your data", box, "kept by the server for this tab only, and deleted when it closes");
}

// -- points in the plane -------------------------------------------------------------------------
function generatedRows(panel, s, data) {
  s.append(panel.row("points", panel.numberInput("data.n_samples", "int",
    {min: 1, max: panel.options.limits?.max_points, testid: "points"}), "number of points (train + test)"));
  for (const extra of DATA_EXTRAS[data.name] || []) {
    const f = EXTRA_FIELDS[extra];
    s.append(panel.row(f.label, panel.numberInput(`data.${extra}`, f.kind, {min: f.min, max: f.max, step: f.step}),
                       f.hint));
  }
  s.append(ratioRow(panel));
  const seed = panel.numberInput("data.seed", "int", {min: 0, testid: "data-seed"});
  const again = el("button", {type: "button", class: "small", "data-testid": "regenerate", text: "new data",
                              title: "draw new points (the next seed)"});
  again.addEventListener("click", () => panel.edit("data.seed", (Number(getPath(panel.target, "data.seed")) || 0) + 1));
  s.append(panel.row("seed", el("span", {class: "pair"}, seed, again), "seed of the points"));
  s.append(featureBoxes(panel));
}

function ratioRow(panel) {
  const ratio = el("input", {type: "range", min: 10, max: 90, step: 5, "data-key": "split.fractions",
                             "data-testid": "train-ratio"});
  const ratioOut = el("output", {class: "range-out"});
  ratio.addEventListener("input", () => { ratioOut.textContent = `${ratio.value}%`; });
  ratio.addEventListener("change", () => {
    const r = Number(ratio.value) / 100;
    panel.edit("split.fractions", [r, 0, Math.round((1 - r) * 100) / 100]);
  });
  return panel.row("training share", el("span", {class: "range"}, ratio, ratioOut),
                   "share of the points that train; the rest is the test split");
}

function featureBoxes(panel) {
  const box = el("div", {class: "features", "data-testid": "features", "data-key": "@features"});
  for (const f of panel.options.features || []) {
    const c = el("input", {type: "checkbox", "data-feature": f});
    c.addEventListener("change", () => {
      const chosen = [...box.querySelectorAll("input:checked")].map((i) => i.dataset.feature);
      panel.edit("data.features", chosen);
    });
    box.append(el("label", {class: "chip"}, c, el("span", {text: FEATURE_LABELS[f] ?? f})));
  }
  return panel.row("inputs", box, "the features the network sees, computed from x₁ and x₂");
}

// -- tables: the target, the feature columns, the plane -----------------------------------------
function tableRows(panel, s, data, ctx, kind) {
  const names = (ctx.columns || []).map((c) => c.name);
  if (kind === "file") {
    const target = panel.select("data.target", names.length ? names : [data.target], {
      testid: "target", before: (value) => retarget(panel.target.data, value, ctx.columns || [])});
    s.append(panel.row("target", target, "the column to predict: classes (text, or a few whole numbers) or a value"));
    s.append(panel.row("task", panel.select("data.task", Object.keys(TASK_LABELS), {testid: "task", labels: TASK_LABELS}),
                       "auto: text or up to 20 whole numbers are classes, other numbers a value to regress"));
  }
  s.append(ratioRow(panel));
  const columns = (ctx.columns || []).filter((c) => c.name !== data.target);
  if (columns.length) s.append(columnBoxes(panel, columns));
  s.append(planeRow(panel));
}

// A new target: it leaves the features (and the plane); the old one becomes a feature again if it
// held numbers (the reader refuses text features).
function retarget(data, target, columns) {
  const old = columns.find((c) => c.name === data.target);
  const features = (data.features || []).filter((f) => f !== target);
  if (old && old.kind === "number" && !features.includes(old.name)) features.push(old.name);
  data.features = features;
  if (data.plane && data.plane.includes(target)) delete data.plane;
}

function columnBoxes(panel, columns) {
  const box = el("div", {class: "features columns", "data-testid": "columns", "data-key": "@features"});
  for (const {name, kind} of columns) {
    const c = el("input", {type: "checkbox", "data-column": name});
    c.addEventListener("change", () => {
      const chosen = [...box.querySelectorAll("input:checked")].map((i) => i.dataset.column);
      const data = panel.target.data;
      if (data.plane && !data.plane.every((f) => chosen.includes(f))) delete data.plane;
      panel.edit("data.features", chosen);
    });
    const why = {text: "holds text: a feature must hold numbers",
                 incomplete: "has missing values: fill or drop them first (the reader refuses them)"}[kind];
    const label = el("label", {class: `chip${why ? " text" : ""}`, title: why ?? name}, c, el("span", {text: name}));
    box.append(label);
  }
  return panel.row("features", box, "the columns the network sees (numbers only)");
}

// The two features that span the plane of the boundary view (the others held at their mean).
function planeRow(panel) {
  const pick = (axis, testid) => {
    const s = el("select", {"data-key": `@plane-${axis}`, "data-testid": testid, class: "plane-axis"});
    s.addEventListener("change", () => {
      const current = planeOf(panel.target.data, panel.context());
      const other = current[axis === "x" ? 1 : 0];
      const value = s.value;
      const pair = axis === "x" ? [value, other === value ? current[0] : other]
                                : [other === value ? current[1] : other, value];
      panel.edit("data.plane", pair);
    });
    return s;
  };
  const box = el("div", {class: "plane-pick"},
                 el("label", {}, el("span", {text: "across"}), pick("x", "plane-x")),
                 el("label", {}, el("span", {text: "up"}), pick("y", "plane-y")));
  return panel.row("plane", box, "the two features the boundary view spans; the other features are held at their mean");
}

// The plane's two features: data.plane, else the server's (the data message's axes), else the first two.
function planeOf(data, ctx) {
  if (data.plane && data.plane.length === 2) return data.plane;
  const features = featuresOf(data, ctx);
  if (ctx.axes && ctx.axes.every((a) => features.includes(a))) return ctx.axes;
  return features.slice(0, 2);
}

function featuresOf(data, ctx) {
  if (data.features) return data.features;
  return (ctx.columns || []).filter((c) => c.name !== data.target && c.kind === "number").map((c) => c.name);
}

// The Data part's values that are not plain settings: the chips and the plane.
export function syncData(root, cfg, ctx) {
  const data = cfg.data || {};
  const derived = data.features || ["x1", "x2"];
  for (const c of root.querySelectorAll("[data-feature]")) c.checked = derived.includes(c.dataset.feature);
  const features = featuresOf(data, ctx);
  for (const c of root.querySelectorAll("[data-column]")) c.checked = features.includes(c.dataset.column);
  const plane = planeOf(data, ctx);
  ["x", "y"].forEach((axis, i) => {
    const s = root.querySelector(`[data-key="@plane-${axis}"]`);
    if (!s) return;
    s.replaceChildren(...features.map((f) => el("option", {value: f, text: f})));
    if (plane[i] !== undefined) s.value = plane[i];
  });
}
