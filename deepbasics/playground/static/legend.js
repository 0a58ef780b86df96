// What the boundary view says about itself: how to read its colours (the explanation and the
// legend) and which plane it shows (for data with more than two features, the two that span it,
// with the others held at their mean). Functions of the server's `data` message; views.js puts
// their answers on the page.
//
// Imports: heatmap.js (the colours).

import {CLASS_COLORS, diverging, regressionScale} from "./heatmap.js";

const POINTS = "The circles are the training points; tick <em>test points</em> to add the held-out ones " +
               "(dark rim), which the network never trains on.";

// The explanation under the boundary, as HTML (fixed text only: names go through textContent).
export function explainHtml(data) {
  if (data.task === "regression") {
    return "Each pixel is coloured by the value the network predicts there: orange for the low end of the " +
           "targets' range, blue for the high end, white in the middle; each circle is coloured by its own " +
           "target. The cost is the mean squared error (MSE). " + POINTS;
  }
  if (data.task === "multiclass") {
    return "Each pixel takes the colour of the class the network predicts there (softmax: the most probable " +
           "of the classes). " + POINTS;
  }
  return "Each pixel is coloured by what the network predicts there: orange for the first class, blue for " +
         "the second, pale where it is unsure. " + POINTS;
}

// The line above the boundary for a table: the plane's two features and what happens to the others.
export function planeNote(data) {
  if (!data.axes || data.name === undefined || !data.columns?.length) return sampleNote(data);
  const [a, b] = data.axes;
  let text = `The plane of ${a} (across) and ${b} (up)`;
  if (data.held > 0) {
    const many = data.held > 1;
    text += `: the prediction with the other ${data.held} feature${many ? "s" : ""} held at ` +
            `${many ? "their" : "its"} training mean, and the points projected onto the plane (their other ` +
            "features left out).";
  } else text += ".";
  const sample = sampleNote(data);
  return sample ? `${text} ${sample}` : text;
}

function sampleNote(data) {
  const [shown, all] = data.shown?.train || [0, 0];
  return shown < all ? `Showing ${shown.toLocaleString("en")} of the ${all.toLocaleString("en")} training points.` : "";
}

// The legend: a swatch per class (its name), or the value at each end of the regression colours.
export function legendNodes(data) {
  const swatch = (rgb, text) => {
    const item = document.createElement("span");
    item.className = "swatch";
    const dot = document.createElement("i");
    dot.style.background = `rgb(${rgb.map((v) => v | 0).join(",")})`;
    item.append(dot, document.createTextNode(text));
    return item;
  };
  if (data.task === "regression") {
    const {mid, half} = regressionScale(data);
    return [swatch(diverging(-1), `low ${(mid - half).toPrecision(3)}`), swatch([255, 255, 255], `${mid.toPrecision(3)}`),
            swatch(diverging(1), `high ${(mid + half).toPrecision(3)}`)];
  }
  return (data.classes || []).map((c, i) => swatch(CLASS_COLORS[i % CLASS_COLORS.length], String(c)));
}
