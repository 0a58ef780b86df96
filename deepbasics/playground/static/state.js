// The page's state: the one object `app` and the few functions that change several of its fields
// together. messages.js (the server's messages) and actions.js (the page's buttons and settings)
// write it; views.js reads it, writing only through `take` (a part shown), `invalidate` (a canvas
// resized), `rates` (old frames dropped from the rate window) and `countRedraw`.
// `window.playground` is this object, for the browser tests and the curious.
//
// What needs showing again is named by part (`invalidate`), so that messages and clicks leave the
// drawing to views.js. Parts the views show at once, after each message: "buttons", "state" (the
// status readout), "connection", "alert" (the error line), "session" (a new `data`: the points,
// the explanation, one or two boundaries). Parts drawn at the next animation frame: "views"
// (charts, readouts, diagram, tables) and "boundary" (the heatmaps).
//
// Imports: config.js (pure functions) and charts.js's RunHistory (a run's numbers; no drawing).

import {RunHistory} from "./charts.js";
import {clone, tokenOf, withSharedData} from "./config.js";

const NO_ALERT = {message: "", kind: ""};

export const app = {
  token: tokenOf(location.search),   // the server's access token, from the address the page was opened with
  session: null,         // this tab's session id (the server's `hello`): uploads go to it
  upload: null,          // the last file uploaded: {name, fingerprint, format, bytes, rows, columns}
  needsFile: null,       // {name, fingerprint} of a file the configuration names but the session lacks
  options: null,         // the server's `hello` options
  config: null,          // run A's configuration, as the panel shows it
  compare: null,         // run B's, or null
  editing: "A",          // the run the panel edits; in compare mode the diagram and table show it too
  sent: null,            // the last {config, compare} sent; becomes the URL once the server accepts it
  data: null,            // the server's last `data` message
  state: "starting",     // then paused / running / diverged (the server's status), or closed
  within: null,          // {update, of}: paused mid-epoch, after `update` of the epoch's `of` updates
  runs: [new RunHistory(), new RunHistory()],
  networks: [null, null],      // each run's last `network` picture (PROTOCOL.md `frame`), or null
  grids: [null, null],         // each run's last `boundary` grid, or null
  connection: null,      // {text, kind} of the connection indicator; null: as the page was served
  alert: NO_ALERT,       // {message, kind} of the error line; kind "warn" for a divergence
  showTest: false,       // the boundary draws the test points too
  activationField: "std",      // what the activations chart shows: std, share or mean
  logCost: false,        // the cost chart's log scale
  frames: 0,             // frames received
  drawn: 0,              // times the views were redrawn
  drawMs: 0,             // milliseconds spent redrawing them, in all
  configured: 0,         // configurations the server accepted (data messages)
  errors: [],            // the server's error messages, newest last
  recent: [],            // [time, epoch] of the frames of the last two seconds: the rates shown
};

const stale = new Set(["buttons", "boundary"]);

// Mark parts of the page as needing to be shown again (the parts are named above).
export function invalidate(...parts) {
  for (const part of parts) stale.add(part);
}

// Whether `part` needs showing; the caller shows it now.
export function take(part) {
  return stale.delete(part);
}

export function countRedraw(ms) {
  app.drawn += 1;
  app.drawMs += ms;
}

// -- the configurations ----------------------------------------------------------------------------
// Edit these configurations from now on (a preset, a link, compare switched on or off).
export function choose(config, compare, editing) {
  app.config = config;
  app.compare = compare;
  app.editing = editing;
}

// The configuration the panel edits now: {run: "A" or "B", config}.
export function edited() {
  return app.editing === "B" && app.compare ? {run: "B", config: app.compare} : {run: "A", config: app.config};
}

// Record the configurations about to be sent (run B with run A's data) and return them.
export function stage() {
  app.sent = {config: clone(app.config), compare: clone(withSharedData(app.config, app.compare))};
  return app.sent;
}

// Whether the page trains two runs (as last sent).
export function comparing() {
  return Boolean(app.sent?.compare);
}

// The run whose diagram and table the page shows: run B while comparing and editing it, else run A.
export function shownRun() {
  return comparing() && app.editing === "B" ? 1 : 0;
}

// -- the session -----------------------------------------------------------------------------------
// The server changed only the view (another plane): the points move, the runs train on.
export function newView(data) {
  app.data = data;
  app.configured += 1;
  app.grids = [null, null];
  app.networks = [null, null];
  invalidate("session", "views", "boundary");
}

// The server accepted a configuration: its data, and the runs start over.
export function newSession(data) {
  app.data = data;
  app.configured += 1;
  app.runs.forEach((r) => r.clear());
  app.networks = [null, null];
  app.grids = [null, null];
  invalidate("session", "views", "boundary");
}

export function showAlert(message, kind = "") {
  app.alert = {message: message || "", kind};
  invalidate("alert");
}

export function clearAlert() {
  showAlert("");
}

// Frames and epochs per second over the last two seconds (older frames are dropped), or null.
export function rates(now) {
  app.recent = app.recent.filter(([t]) => now - t < 2000);
  if (app.recent.length < 2) return null;
  const [t0, e0] = app.recent[0], [t1, e1] = app.recent.at(-1);
  const seconds = (t1 - t0) / 1000;
  return seconds > 0 ? {frames: (app.recent.length - 1) / seconds, epochs: (e1 - e0) / seconds} : null;
}
