// The settings panel, built from the `options` the server sends (PROTOCOL.md, /api/options).
//
// The panel edits one configuration at a time (run A, or run B in compare mode) in place and calls
// `onEdit(key)` after each change; the page then sends `configure`. Nothing is checked here: the
// server's validator (deepbasics.config) answers with an `error` naming the setting, which the
// panel marks (`markInvalid`).
//
// Imports: config.js (paths into a configuration); actions.js builds and feeds it.

import {getPath, setPath} from "./config.js";
import {dataSection, dataSignature, syncData} from "./datapanel.js";

const OPTIMIZER_LABELS = {gd: "Gradient descent", sgd: "Gradient descent", momentum: "Momentum",
                          rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW", adagrad: "AdaGrad"};
const CHOICE_LABELS = {
  ema: "EMA (the chapter's)", heavy_ball: "heavy ball (PyTorch's)", nesterov: "Nesterov",
  epoch: "per epoch", step: "per update", document: "from the next epoch (chapter)",
  immediate: "immediately",
};
// Settings whose default is a plain string but which take one of a few names.
const STRING_CHOICES = {unit: ["epoch", "step"], timing: ["document", "immediate"]};
const SCHEDULE_LABELS = {constant: "Constant", inverse_time: "Inverse-time decay", exponential: "Exponential decay",
                         step: "Step decay"};
const HYPER_LABELS = {beta: "β (momentum)", beta1: "β₁", beta2: "β₂", eps: "ε", weight_decay: "weight decay",
                      form: "form", decay_rate: "decay rate k", interval: "interval (epochs)",
                      rate: "rate", decay_every: "decay every", staircase: "staircase", gamma: "γ (factor)",
                      step_size: "step size", unit: "counts", timing: "applies"};
const ACTIVATION_LABELS = {relu: "ReLU", leaky_relu: "leaky ReLU", prelu: "PReLU (learned slope)",
                           rrelu: "RReLU (random slope)", elu: "ELU", selu: "SELU", gelu: "GELU",
                           softplus: "softplus", sigmoid: "sigmoid", tanh: "tanh", linear: "linear (none)"};
const INIT_LABELS = {standard_normal: "N(0, 1)", glorot_normal: "Glorot normal", glorot_uniform: "Glorot uniform",
                     he_normal: "He normal", he_uniform: "He uniform", lecun_normal: "LeCun normal",
                     lecun_uniform: "LeCun uniform", zeros: "zeros"};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "html") node.innerHTML = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function numberText(v) {
  return v === undefined || v === null ? "" : String(v);
}

// A number from an input's text; text that is no number goes to the server as it is, to be named there.
export function parseNumber(text) {
  const t = text.trim();
  if (t === "") return undefined;
  const v = Number(t);
  if (!Number.isFinite(v)) return t;
  return v;
}

export class Controls {
  // `context()` says what the data offer ({columns, axes, upload, needsFile}: datapanel.js);
  // `onFile(file)` takes a file the learner chose.
  constructor(root, options, onEdit, {context = () => ({}), onFile = () => {}} = {}) {
    this.root = root;
    this.options = options;
    this.onEdit = onEdit;
    this.context = context;
    this.onFile = onFile;
    this.target = null;          // the configuration being edited (mutated in place)
    this.run = "A";
    this.compareOn = false;
    this.signature = null;
  }

  // Edit `config` (run A or B); `rebuild` forces a fresh panel.
  show(config, run, compareOn, rebuild = false) {
    this.target = config;
    this.run = run;
    this.compareOn = compareOn;
    const signature = this.signatureOf(config);
    if (rebuild || signature !== this.signature) {
      this.signature = signature;
      this.build();
    } else {
      this.sync();
    }
  }

  // The server told more about the data (a table's columns, the plane it draws): the panel is
  // rebuilt if that changes its fields, else only the chips and the plane follow (a number being
  // typed elsewhere is left alone).
  dataChanged() {
    if (!this.target) return;
    if (this.signatureOf(this.target) !== this.signature) this.show(this.target, this.run, this.compareOn, true);
    else syncData(this.root, this.target, this.context());
  }

  signatureOf(config) {
    return JSON.stringify([this.run, this.compareOn, config.data?.name, config.optimizer?.name,
                           config.schedule?.name, (config.model?.hidden || []).length,
                           dataSignature(config, this.context())]);
  }

  edit(key, value) {
    this.lastKey = key;
    setPath(this.target, key, value);
    this.onEdit(key);
  }

  // -- building ---------------------------------------------------------------------------------
  build() {
    const focused = document.activeElement?.dataset?.key;
    this.root.replaceChildren();
    if (this.compareOn) this.root.append(this.tabs());
    this.root.append(this.dataSection(), this.networkSection(), this.trainingSection());
    this.sync();
    if (focused) this.root.querySelector(`[data-key="${focused}"]`)?.focus();
  }

  tabs() {
    const bar = el("div", {class: "tabs", role: "tablist"});
    for (const run of ["A", "B"]) {
      const b = el("button", {class: `tab run-${run.toLowerCase()}` + (run === this.run ? " active" : ""),
                              "data-testid": `edit-${run.toLowerCase()}`, role: "tab",
                              "aria-selected": run === this.run ? "true" : "false", text: `Run ${run}`});
      b.addEventListener("click", () => this.onEdit(`@edit:${run}`));
      bar.append(b);
    }
    return bar;
  }

  section(title, note) {
    const s = el("section", {class: "group"}, el("h3", {text: title}));
    if (note) s.append(el("p", {class: "note", text: note}));
    return s;
  }

  // One setting: its name and its control(s); a <label> when there is one control to name.
  row(label, input, hint) {
    const single = input.tagName === "INPUT" || input.tagName === "SELECT";
    const r = el(single ? "label" : "div", {class: "row", title: hint});
    r.append(el("span", {class: "label", text: label}), input);
    return r;
  }

  // A number field; `onChange(value)` replaces the plain "write this key" behaviour.
  numberInput(key, kind, {min, max, step, testid, placeholder, onChange} = {}) {
    const input = el("input", {type: "number", "data-key": key, "data-kind": kind, min, max,
                               step: step ?? (kind === "int" ? 1 : "any"), "data-testid": testid,
                               placeholder: placeholder ?? "default", inputmode: "decimal"});
    input.addEventListener("change", () => {
      const value = parseNumber(input.value);
      if (onChange) onChange(value);
      else this.edit(key, value);
    });
    return input;
  }

  // A choice; `before(value)` runs first (e.g. to reset the settings that belong to the old choice).
  select(key, choices, {testid, labels = {}, parse, before} = {}) {
    const s = el("select", {"data-key": key, "data-testid": testid});
    for (const c of choices) s.append(el("option", {value: String(c), text: labels[c] ?? String(c)}));
    s.addEventListener("change", () => {
      if (before) before(s.value);
      this.edit(key, parse ? parse(s.value) : s.value);
    });
    return s;
  }

  checkbox(key, {testid} = {}) {
    const c = el("input", {type: "checkbox", "data-key": key, "data-testid": testid});
    c.addEventListener("change", () => this.edit(key, c.checked));
    return c;
  }

  dataSection() {
    return dataSection(this);
  }

  networkSection() {
    const s = this.section("Network");
    const limits = this.options.limits || {};
    const hidden = () => [...(this.target.model?.hidden || [])];
    // Three views of model.hidden: the depth, one width for every layer, and each layer's width.
    const layersIn = this.numberInput("@layers", "int", {
      min: 1, max: limits.max_layers, testid: "layers",
      onChange: (n) => {
        if (!Number.isInteger(n) || n < 1) { this.edit("model.hidden", n === undefined ? hidden() : [n]); return; }
        const widths = hidden();
        const fill = widths.length ? widths.at(-1) : 4;
        while (widths.length < n) widths.push(fill);
        this.edit("model.hidden", widths.slice(0, n));
      }});
    const unitsIn = this.numberInput("@units", "int", {
      min: 1, max: limits.max_units, testid: "units",
      onChange: (n) => { if (n !== undefined) this.edit("model.hidden", (hidden().length ? hidden() : [n]).map(() => n)); }});
    const widths = el("input", {type: "text", "data-key": "model.hidden", "data-testid": "widths",
                                spellcheck: "false", title: "units of each hidden layer, input to output"});
    widths.addEventListener("change", () => {
      const parts = widths.value.split(/[\s,]+/).filter((p) => p !== "");
      this.edit("model.hidden", parts.map((p) => parseNumber(p)));
    });
    s.append(this.row("hidden layers", layersIn, `1 to ${limits.max_layers ?? 50}`));
    s.append(this.row("units per layer", unitsIn, `every hidden layer gets this many units (1 to ${limits.max_units ?? 128})`));
    s.append(this.row("widths", widths, "each hidden layer's units, e.g. 5, 2"));
    s.append(this.row("activation", this.select("model.activation", this.options.activations,
                                                                     {testid: "activation", labels: ACTIVATION_LABELS})));
    s.append(this.row("initialiser", this.select("model.init", this.options.initializers,
                                                  {testid: "init", labels: INIT_LABELS})));
    const bn = this.checkbox("model.batch_norm", {testid: "batch-norm"});
    const position = this.select("model.batch_norm_position", ["before", "after"],
                                 {testid: "batch-norm-position", labels: {before: "before activation",
                                                                          after: "after activation"}});
    s.append(this.row("BatchNorm", el("span", {class: "pair"}, bn, position),
                      "normalise each hidden layer's outputs over the mini-batch"));
    s.append(this.row("dropout", this.numberInput("model.dropout", "float", {min: 0, max: 0.95, step: 0.05,
                                                                             testid: "dropout"}),
                      "share of hidden units switched off in each training step"));
    s.append(this.row("L2", this.numberInput("model.l2", "float", {min: 0, step: 0.001, testid: "l2"}),
                      "penalty (l2 / 2) Σ W² on every weight matrix"));
    s.append(this.row("L1", this.numberInput("model.l1", "float", {min: 0, step: 0.001, testid: "l1"}),
                      "penalty l1 Σ |W| on every weight matrix"));
    s.append(this.row("weight seed", this.numberInput("model.seed", "int", {min: 0, testid: "model-seed",
                                                                           placeholder: this.ownSeed()}),
                      this.run === "B" ? "run B's own weight seed; empty: run A's" : "seed of the initial weights"));
    return s;
  }

  trainingSection() {
    const s = this.section("Training");
    const opt = this.target.optimizer || {};
    const optimizers = this.options.optimizers || {};
    // A new optimizer starts from its own defaults, keeping the learning rate the learner chose.
    const optSelect = this.select("optimizer.name", Object.keys(optimizers), {
      testid: "optimizer", labels: OPTIMIZER_LABELS,
      before: (value) => {
        const lr = this.target.optimizer?.lr;
        this.target.optimizer = {...hyperDefaults(optimizers[value]), name: value};
        if (lr !== undefined) this.target.optimizer.lr = lr;
      }});
    s.append(this.row("optimizer", optSelect));
    s.append(this.row("learning rate", this.numberInput("optimizer.lr", "float", {min: 0, step: "any", testid: "lr"})));
    s.append(...this.hyperRows("optimizer", optimizers[opt.name] || {}, ["lr"]));

    const schedules = this.options.schedules || {};
    const schedSelect = this.select("schedule.name", Object.keys(schedules), {
      testid: "schedule", labels: SCHEDULE_LABELS,
      before: (value) => { this.target.schedule = {...hyperDefaults(schedules[value]), name: value}; }});
    s.append(this.row("schedule", schedSelect, "how the learning rate changes over the epochs"));
    s.append(...this.hyperRows("schedule", schedules[this.target.schedule?.name] || {}, []));

    const sizes = this.options.batch_sizes || [];
    s.append(this.row("batch size", this.select("train.batch_size", sizes, {
      testid: "batch-size", labels: {full: "full batch (GD)", 1: "1 (stochastic)"},
      parse: (v) => (v === "full" ? "full" : Number(v))}), "examples per update"));
    s.append(this.row("shuffle seed", this.numberInput("train.shuffle_seed", "int", {min: 0, testid: "shuffle-seed",
                                                                                 placeholder: this.ownSeed()}),
                      "epoch e is shuffled by RandomState(seed + e + 1)" +
                      (this.run === "B" ? "; empty: run A's shuffles" : "")));
    s.append(this.row("engine", this.select("train.engine", this.options.engines || ["numpy"], {testid: "engine"}),
                      "the library's NumPy engine, or its compiled JAX engine"));
    return s;
  }

  // The placeholder of a seed field: run B's seeds default to run A's.
  ownSeed() {
    return this.run === "B" ? "run A's" : "default";
  }

  // Rows for an optimizer's or schedule's own settings: numbers, switches and named choices.
  hyperRows(section, spec, skip) {
    const rows = [];
    for (const [key, def] of Object.entries(spec)) {
      if (skip.includes(key)) continue;
      const path = `${section}.${key}`;
      let input;
      if (Array.isArray(def)) input = this.select(path, def, {labels: CHOICE_LABELS, testid: `${section}-${key}`});
      else if (typeof def === "boolean") input = this.checkbox(path, {testid: `${section}-${key}`});
      else if (typeof def === "number") {
        input = this.numberInput(path, Number.isInteger(def) && !/eps|lr|rate|decay|beta|gamma/.test(key) ? "int" : "float",
                                 {testid: `${section}-${key}`, placeholder: String(def)});
      } else if (typeof def === "string" && STRING_CHOICES[key]) {
        input = this.select(path, STRING_CHOICES[key], {labels: CHOICE_LABELS, testid: `${section}-${key}`});
      } else continue;
      rows.push(this.row(HYPER_LABELS[key] ?? key, input));
    }
    return rows;
  }

  // -- values -----------------------------------------------------------------------------------
  sync() {
    const cfg = this.target;
    for (const input of this.root.querySelectorAll("[data-key]")) {
      const key = input.dataset.key;
      if (key.startsWith("@")) {
        if (key === "@layers") input.value = (cfg.model?.hidden || []).length;
        if (key === "@units") input.value = (cfg.model?.hidden || [])[0] ?? "";
        continue;
      }
      if (key === "model.hidden") { input.value = (cfg.model?.hidden || []).join(", "); continue; }
      if (key === "split.fractions") {
        const f = cfg.split?.fractions;
        input.value = f ? Math.round(f[0] * 100) : 70;
        input.nextElementSibling.textContent = `${input.value}%`;
        continue;
      }
      const value = getPath(cfg, key);
      if (input.type === "checkbox") input.checked = Boolean(value);
      else if (input.tagName === "SELECT") {
        const v = Array.isArray(value) ? value[0] : value;
        if (v !== undefined && ![...input.options].some((o) => o.value === String(v))) {
          input.append(el("option", {value: String(v), text: String(v)}));
        }
        input.value = v === undefined ? input.options[0]?.value : String(v);
      } else input.value = numberText(value);
    }
    syncData(this.root, cfg, this.context());
    const position = this.root.querySelector('[data-key="model.batch_norm_position"]');
    if (position) position.disabled = !cfg.model?.batch_norm;
  }

  // Mark the field an error names ("optimizer.lr", "compare.model.hidden"); when it names only a
  // section ("optimizer") or nothing, the field just edited there is the one to fix.
  markInvalid(key) {
    this.clearInvalid();
    let run = "A";
    if (key && key.startsWith("compare.")) { run = "B"; key = key.slice(8); }
    if (run !== this.run) return;
    const map = {"model.hidden": ["model.hidden", "@layers", "@units"], "data.features": ["@features"],
                 "split.fractions": ["split.fractions"], "data.path": ["@upload"], "data.fingerprint": ["@upload"],
                 "data.plane": ["@plane-x", "@plane-y"]};
    const marks = (k) => (map[k] || [k]).map((x) => this.root.querySelector(`[data-key="${x}"]`)).filter(Boolean);
    let found = key ? marks(key) : [];
    const last = this.lastKey;
    if (!found.length && last && (!key || last === key || last.startsWith(key + "."))) found = marks(last);
    for (const node of found) node.classList.add("invalid");
  }

  clearInvalid() {
    for (const node of this.root.querySelectorAll(".invalid")) node.classList.remove("invalid");
  }
}

// The default settings of an optimizer or schedule from its option spec (lists: the first choice).
function hyperDefaults(spec) {
  const out = {};
  for (const [k, v] of Object.entries(spec || {})) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}
