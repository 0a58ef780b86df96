// The learner's own data: a CSV or Parquet file chosen with the picker or dropped on the page,
// sent to the server for this tab's session only (POST /api/upload, PROTOCOL.md). The server keeps
// it in the session's own folder and answers its columns; the page then offers them (target,
// features, the plane) and trains on it. The file itself is never put in the page's address: a
// link names it by its name and fingerprint, and asks for it when the session does not hold it.
//
// Imports: state.js (the session id and the token).

import {app} from "./state.js";

// Send `file` (a File) to the server; resolves to {entry} (its columns) or {error} (one line).
export async function upload(file) {
  const limit = app.options?.limits?.max_upload_mb ?? 20;
  if (file.size > limit * 1024 * 1024) {
    return {error: `${file.name} is larger than ${limit} MB, the playground's limit; train on it with deepbasics train`};
  }
  const query = new URLSearchParams({session: app.session ?? "", name: file.name});
  const headers = {"Content-Type": "application/octet-stream"};
  if (app.token) headers.Authorization = `token ${app.token}`;
  let answer;
  try {
    answer = await fetch(`/api/upload?${query}`, {method: "POST", body: file, headers});
  } catch (err) {
    return {error: `the upload of ${file.name} failed (${err.message}); is the server still running?`};
  }
  let body = null;
  try { body = await answer.json(); } catch { body = null; }
  if (!answer.ok) return {error: body?.error || `the server refused ${file.name} (HTTP ${answer.status})`};
  return {entry: body};
}

// Call `onFile(file)` for a file dropped anywhere on the page (the panel's picker calls it for a
// file chosen there); the page says where to drop while a file is dragged over it.
export function wireDrops(onFile) {
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) document.body.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    document.body.classList.remove("dropping");
    const file = event.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

// The data settings for a new upload: its columns as the page offers them. The target is the one
// the configuration named when the file has it, else the last column; the features are the other
// columns that hold numbers (the learner ticks the rest on and off).
export function fileData(entry, previous) {
  const names = entry.columns.map((c) => c.name);
  const target = names.includes(previous?.target) ? previous.target : names.at(-1);
  const numbers = entry.columns.filter((c) => c.kind === "number" && c.name !== target).map((c) => c.name);
  const kept = (previous?.features || []).filter((f) => names.includes(f) && f !== target);
  const features = kept.length >= 2 ? kept : numbers;
  const data = {name: entry.format, path: entry.name, fingerprint: entry.fingerprint, target, features};
  if (previous?.task && previous.task !== "auto") data.task = previous.task;
  const plane = (previous?.plane || []).filter((f) => features.includes(f));
  if (plane.length === 2) data.plane = plane;
  if (previous?.standardize === false) data.standardize = false;
  return data;
}
