// A configuration as plain data (PROTOCOL.md): paths into it, the page's URL form of it, and the
// configurations a page opens with. Pure functions; imports nothing.
//
// The URL holds every leaf of a configuration as `section.key=value`, values written as JSON except
// plain strings, which stay bare when they cannot be mistaken for JSON:
//   ?data.name=moons&data.n_samples=900&model.hidden=[5,2]&optimizer.name=adam&optimizer.lr=0.0001
// The compare run's own sections follow with a `b.` prefix (it shares run A's data and split).
// The server's access token, when the page has one, goes first (`?token=...&data.name=...`); an
// uploaded file is named by its name and fingerprint (data.path, data.fingerprint), never its content.

export const COMPARE_SECTIONS = ["name", "model", "train", "optimizer", "schedule"];

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

export function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

export function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k];
  }
  if (value === undefined) delete o[keys.at(-1)];
  else o[keys.at(-1)] = value;
}

function leaves(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) leaves(v, key, out);
    else if (v !== undefined && v !== null) out.push([key, v]);
  }
  return out;
}

function encodeValue(v) {
  if (typeof v === "string") {
    let looksLikeJson = true;
    try { JSON.parse(v); } catch { looksLikeJson = false; }
    return looksLikeJson || v === "" ? JSON.stringify(v) : v;
  }
  return JSON.stringify(v);
}

function decodeValue(text) {
  try { return JSON.parse(text); } catch { return text; }
}

// URI-encode, but keep the characters that make arrays readable ([5,2]).
function escape(text) {
  return encodeURIComponent(text).replace(/%5B/g, "[").replace(/%5D/g, "]").replace(/%2C/g, ",");
}

export function toQuery(config, compare, token = null) {
  const parts = leaves(config, "", []).map(([k, v]) => `${escape(k)}=${escape(encodeValue(v))}`);
  if (token) parts.unshift(`token=${encodeURIComponent(token)}`);
  if (compare) {
    const own = Object.fromEntries(COMPARE_SECTIONS.filter((s) => s in compare).map((s) => [s, compare[s]]));
    for (const [k, v] of leaves(own, "b", [])) parts.push(`${escape(k)}=${escape(encodeValue(v))}`);
  }
  return "?" + parts.join("&");
}

// {config, compare} from a query string, or null when it holds no configuration.
export function fromQuery(search) {
  const params = new URLSearchParams(search);
  const config = {};
  let compare = null;
  for (const [key, text] of params) {
    if (!/^[A-Za-z0-9_.]+$/.test(key) || key === "token") continue;
    const value = decodeValue(text);
    if (key.startsWith("b.")) {
      compare = compare || {};
      setPath(compare, key.slice(2), value);
    } else {
      setPath(config, key, value);
    }
  }
  if (Object.keys(config).length === 0) return null;
  if (compare) {
    compare.data = clone(config.data);
    compare.split = clone(config.split);
  }
  return {config, compare};
}

// Run B's first configuration when compare is switched on: a copy of run A without its own seeds
// (the server then gives it run A's weight seed and shuffles until the learner sets others).
export function copyForB(config) {
  const b = clone(config);
  if (b.model) delete b.model.seed;
  if (b.train) delete b.train.shuffle_seed;
  return b;
}

// The server's access token in a query string, or null.
export function tokenOf(search) {
  return new URLSearchParams(search).get("token");
}

// Run B's configuration: its own sections, with run A's data and split (the server uses A's anyway).
export function withSharedData(config, compare) {
  if (!compare) return null;
  const b = clone(compare);
  b.data = clone(config.data);
  b.split = clone(config.split);
  return b;
}

// The configurations a page opens with: those of its link (`fromQuery`'s answer), else the server's
// default. Each section a link holds is taken whole (the page writes every setting into its links);
// a section it leaves out comes from the default (for run B: from run A).
export function opening(link, base) {
  if (!link) return {config: clone(base.config), compare: clone(base.compare)};
  const config = completed(link.config, base.config);
  return {config, compare: link.compare && completed(link.compare, config)};
}

function completed(partial, base) {
  return {...clone(base), ...clone(partial)};
}

// The id of the preset that is exactly this pair of configurations, else "" (custom).
export function presetOf(presets, config, compare) {
  const same = (p) => JSON.stringify(p.config) === JSON.stringify(config) &&
                      JSON.stringify(p.compare ?? null) === JSON.stringify(compare ?? null);
  return (presets || []).find(same)?.id ?? "";
}
