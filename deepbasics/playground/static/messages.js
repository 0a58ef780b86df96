// The server's messages (PROTOCOL.md, "Server → page") and the connection's own events: one
// function per type, in the table HANDLERS, each called as handle(message, actions). They write
// the page's state and name what needs showing again; views.js shows it. Beyond the state they
// touch the URL (a configuration the server accepts becomes the page's link), the settings panel
// through `actions` (an error's field marked), and the download an `export` brings.
//
// Imports: state.js and config.js.

import {app, clearAlert, invalidate, newSession, newView, showAlert} from "./state.js";
import {toQuery} from "./config.js";

function open() {
  app.connection = {text: "connected", kind: "ok"};
  invalidate("connection");
}

function closed() {
  app.state = "closed";
  app.connection = {text: "disconnected: reload the page to start a new session", kind: "bad"};
  invalidate("connection", "buttons");
}

// The options build the panel; the page's link (or the default) gives the first configuration.
function hello(msg, actions) {
  app.options = msg.options;
  app.session = msg.session;
  actions.start();
}

function busy(msg) {
  showAlert(msg.message || "the server is busy; close another playground tab and reload");
  app.connection = {text: "busy", kind: "bad"};
  invalidate("connection");
}

// An error; one that names the configuration's file (data.path) means the session does not hold
// it (a link opened elsewhere): the panel then asks for that file.
function error(msg, actions) {
  app.errors.push(msg.message);
  showAlert(msg.message);
  const data = app.sent?.config?.data;
  if (msg.key === "data.path" && data?.fingerprint && !app.needsFile) {
    app.needsFile = {name: data.path, fingerprint: data.fingerprint};
    actions.showControls(true);
  }
  actions.markInvalid(msg.key);
}

function status(msg) {
  app.state = msg.state;
  app.within = msg.within ?? null;          // paused between two updates of an epoch in progress
  app.recent = [];
  invalidate("buttons", "state");
  if (msg.message) showAlert(msg.message, msg.state === "diverged" ? "warn" : "");
  else if (app.alert.kind === "warn") clearAlert();          // a divergence reset or trained past
}

// The server accepted the configuration last sent: a new session at epoch 0.
// (`continued`: only the view changed, another plane; the runs train on.)
function data(msg, actions) {
  if (app.state === "starting") {                // the first data: the session is ready
    app.state = "paused";
    invalidate("buttons");
  }
  if (msg.train === null && app.data) {          // the same points as before (only the network changed)
    msg.train = app.data.train;
    msg.test = app.data.test;
  }
  if (msg.continued) newView(msg);
  else newSession(msg);
  if (app.sent) {
    history.replaceState(null, "", toQuery(app.sent.config, app.sent.compare, app.token) + location.hash);
  }
  app.needsFile = null;
  clearAlert();
  actions.clearInvalid();
  actions.controls?.dataChanged();               // a table's columns and plane, now known
}

function frame(msg) {
  app.frames += 1;
  app.recent.push([performance.now(), msg.epoch]);
  (msg.runs || []).forEach((run, i) => {
    const record = app.runs[i];
    if (!record) return;
    if (run.epoch < record.lastEpoch || (run.epoch === 0 && record.lastEpoch !== 0)) record.clear();   // a new start
    record.add(run);
    // The pictures come every few frames; a frame without them keeps the last ones.
    if (run.boundary) {
      app.grids[i] = run.boundary;
      app.networks[i] = run.network ?? null;
      invalidate("boundary");
    }
  });
  invalidate("views");
}

// Export: run A's TOML downloads at once; in compare mode run B's is offered beside it.
function exported(msg) {
  const a = tomlLink(msg.filename || "playground.toml", msg.toml);
  document.body.append(a);
  a.click();
  a.remove();
  const notice = document.getElementById("notice");
  const beside = msg.data_file ? `, with ${msg.data_file} in the same folder` : "";
  notice.replaceChildren(`Downloaded ${a.download}: run it with deepbasics train ${a.download}${beside}`);
  if (msg.compare) {
    notice.append(" (run A). Run B: ", tomlLink(msg.compare.filename, msg.compare.toml), ".");
  }
  notice.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { notice.hidden = true; }, 15000);
}

function tomlLink(filename, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: "application/toml"}));
  a.download = filename;
  a.textContent = filename;
  a.dataset.testid = "export-link";
  return a;
}

export const HANDLERS = {open, closed, hello, busy, error, status, data, frame, export: exported};
