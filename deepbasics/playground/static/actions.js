// What the learner does on the page: the transport buttons, the speed, presets, compare, the view
// switches, the space key, the settings panel (controls.js) it builds from the server's options,
// and a file chosen or dropped (files.js). Each action writes the page's state and sends through
// the connection; after every change of a setting the page sends `configure` (the server answers
// `data` or `error`).
//
// Imports: state.js, config.js, controls.js and files.js.

import {app, choose, edited, invalidate, showAlert, stage} from "./state.js";
import {clone, copyForB, fromQuery, opening, presetOf} from "./config.js";
import {Controls} from "./controls.js";
import {fileData, upload, wireDrops} from "./files.js";

const $ = (id) => document.getElementById(id);
const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, null];   // epochs per second; null: as fast as possible

export class Actions {
  constructor(conn) {
    this.conn = conn;
    this.controls = null;        // the settings panel, once the options came
    this.wireTransport();
    this.wireConfigurations();
    this.wireViews();
  }

  // The options came (app.options): the header and panel are built, the page's link (or the
  // server's default) gives the configurations, and they are sent.
  start() {
    const options = app.options;
    $("version").textContent = options.version ? `deepbasics ${options.version}` : "";
    for (const p of options.presets || []) {
      const o = document.createElement("option");
      o.value = p.id;
      o.textContent = p.title;
      $("preset").append(o);
    }
    this.controls = new Controls($("controls"), options, (key) => this.onEdit(key),
                                 {context: () => this.dataContext(), onFile: (file) => this.onFile(file)});
    const {config, compare} = opening(fromQuery(location.search), options.default || {config: {}, compare: null});
    choose(config, compare, app.editing);
    $("compare").checked = Boolean(app.compare);
    $("preset").value = presetOf(options.presets, app.config, app.compare);
    this.showControls(true);
    this.send();
  }

  send() {
    const sent = stage();
    this.conn.configure(sent.config, sent.compare);
  }

  showControls(rebuild = false) {
    const {run, config} = edited();
    this.controls.show(config, run, Boolean(app.compare), rebuild);
  }

  // The panel changed setting `key` in the configuration it edits, or switched runs ("@edit:B").
  onEdit(key) {
    if (key.startsWith("@edit:")) {
      app.editing = key.slice(6);
      this.showControls();
      invalidate("views");
      return;
    }
    $("preset").value = "";
    this.showControls();
    this.send();
  }

  // What the data offer the panel (datapanel.js): the columns of the uploaded file or of the table
  // the server describes (its `data` message), the plane it draws, the file a link asks for.
  dataContext() {
    const data = app.config?.data || {};
    const up = app.upload;
    const sameFile = up && up.name === data.path && up.fingerprint === data.fingerprint;
    let columns = [];
    if (sameFile) columns = up.columns;
    else if (app.data && app.data.name === data.name && app.data.columns?.length) {
      columns = app.data.columns.map((name) => ({name, kind: "number"}));
      if (app.data.target) columns.push({name: app.data.target, kind: "number"});
    }
    const axes = app.data && app.data.name === data.name ? app.data.axes : null;
    return {columns, axes, upload: up, needsFile: app.needsFile};
  }

  // A file chosen or dropped: sent to the server; its columns then make the data settings (the
  // file a link asked for keeps the link's settings), and the page trains on it.
  async onFile(file) {
    const notice = $("notice");
    notice.textContent = `Reading ${file.name}…`;
    notice.hidden = false;
    const {entry, error} = await upload(file);
    notice.hidden = true;
    if (error) {
      app.errors.push(error);
      showAlert(error);
      this.controls?.markInvalid("data.path");
      return;
    }
    const data = app.config.data || {};
    const asked = app.needsFile || (data.path === entry.name ? data : null);
    app.upload = entry;
    app.needsFile = null;
    app.config.data = fileData(entry, asked ? data : null);
    $("preset").value = "";
    this.showControls(true);
    this.send();
  }

  // The field a server's error names (controls.js), and clearing the marks once a configuration is accepted.
  markInvalid(key) {
    this.controls?.markInvalid(key);
  }

  clearInvalid() {
    this.controls?.clearInvalid();
  }

  wireTransport() {
    const conn = this.conn;
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
    // Space plays and pauses, unless a setting has the keyboard.
    document.addEventListener("keydown", (event) => {
      if (event.code !== "Space" || event.target.closest("input, select, button, textarea, a")) return;
      event.preventDefault();
      if (!$("pause").disabled) conn.pause();
      else if (!$("play").disabled) conn.play();
    });
  }

  // A preset replaces both configurations; compare on starts run B as a copy of run A.
  wireConfigurations() {
    $("preset").addEventListener("change", () => {
      const preset = (app.options.presets || []).find((p) => p.id === $("preset").value);
      if (!preset) return;
      choose(clone(preset.config), clone(preset.compare) || null, "A");
      $("compare").checked = Boolean(app.compare);
      this.showControls(true);
      this.send();
    });
    $("compare").addEventListener("change", () => {
      if ($("compare").checked) choose(app.config, copyForB(app.config), "B");
      else choose(app.config, null, "A");
      $("preset").value = "";
      this.showControls(true);
      this.send();
    });
  }

  wireViews() {
    wireDrops((file) => this.onFile(file));
    $("show-test").addEventListener("change", () => {
      app.showTest = $("show-test").checked;
      invalidate("boundary");
    });
    $("activation-view").addEventListener("change", () => {
      app.activationField = $("activation-view").value;
      invalidate("views");
    });
    $("cost-log").addEventListener("change", () => {
      app.logCost = $("cost-log").checked;
      invalidate("views");
    });
  }
}
