// The page's numbers as text: number formats, the architecture line ("2 → 5 → 2 → 1"), the
// diagram's size limit and the per-layer statistics table. Functions of their arguments only;
// views.js puts their answers on the page.
//
// Imports nothing.

export function fmt(v, digits) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function fmtSci(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v === 0 ? "0" : v.toExponential(2);
}

function escapeHtml(text) {
  const span = document.createElement("span");
  span.textContent = String(text ?? "");
  return span.innerHTML;
}

// "2 → 5 → 2 → 1" for a configuration and the `data` it trains on; five or more equal layers in a
// row as "64 ×20".
export function architecture(cfg, data) {
  if (!cfg || !data) return "";
  const inputs = data.features?.length || (cfg.data?.features || ["x1", "x2"]).length;
  const classes = data.classes?.length || 2;
  const outputs = data.task === "multiclass" ? classes : 1;
  const parts = [];
  const hidden = cfg.model?.hidden || [];
  for (let i = 0; i < hidden.length;) {
    let j = i;
    while (j < hidden.length && hidden[j] === hidden[i]) j++;
    if (j - i >= 5) parts.push(`${hidden[i]} ×${j - i}`);
    else parts.push(...hidden.slice(i, j));
    i = j;
  }
  return [inputs, ...parts, outputs].join(" → ");
}

// Whether the diagram draws this configuration's network on these data (the options' `limits`).
export function drawable(cfg, limits = {}, data = null) {
  const hidden = cfg?.model?.hidden || [];
  const inputs = data?.features?.length ?? 2;
  return hidden.length <= limits.draw_network_max_layers && Math.max(...hidden) <= limits.draw_network_max_units &&
         inputs <= (limits.draw_network_max_inputs ?? 8);
}

export function tooBigText(limits = {}) {
  return `The diagram draws networks of up to ${limits.draw_network_max_inputs ?? 8} inputs and ` +
         `${limits.draw_network_max_layers} hidden layers of up to ` +
         `${limits.draw_network_max_units} units. For bigger ones, watch the gradient flow and the ` +
         `activations per layer.`;
}

// The rows of the layer table for one run (a RunHistory): gradient norm, mean, spread, and the
// share of saturated or dead units.
export function statsHtml(run) {
  const sigmoidLike = run.layers.some((l) => l.saturated !== null && l.saturated !== undefined);
  const reluLike = run.layers.some((l) => l.dead !== null && l.dead !== undefined);
  const shareHead = sigmoidLike && reluLike ? "saturated / dead" : sigmoidLike ? "saturated" : reluLike ? "dead" : "saturated / dead";
  const head = `<tr><th>layer</th><th>‖∂J/∂W‖</th><th>mean</th><th>spread</th><th>${shareHead}</th></tr>`;
  const spread = Math.max(1e-12, ...run.layers.map((l) => l.act_std || 0));
  const rows = run.layers.map((l) => {
    const share = l.saturated ?? l.dead;
    const what = l.saturated !== null && l.saturated !== undefined ? "saturated" : "dead";
    const shareCell = share === null || share === undefined ? "<span class=muted>n/a</span>" :
      `<span class="bar warn" title="${what}"><i style="width:${(100 * share).toFixed(1)}%"></i></span>` +
      `<span class="num">${(100 * share).toFixed(0)}%</span>`;
    return `<tr><td>${escapeHtml(l.name)}</td><td class="num">${fmtSci(l.grad_norm)}</td>` +
           `<td class="num">${fmt(l.act_mean, 3)}</td>` +
           `<td><span class="bar"><i style="width:${(100 * (l.act_std || 0) / spread).toFixed(1)}%"></i></span>` +
           `<span class="num">${fmt(l.act_std, 3)}</span></td><td>${shareCell}</td></tr>`;
  });
  return head + rows.join("");
}
