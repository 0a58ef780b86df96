// The playground page's entry point: wires the connection, the messages, the actions and the
// views together around the page's state.
//
// The server owns the training; the page sends `configure` after every change of a setting and
// draws what the frames bring, at most once per animation frame. A configuration the server
// accepts (it answers with `data`) is written into the URL, so a link reopens the same experiment.
//
// Imports: socket.js, state.js, messages.js, actions.js and views.js (state <- messages, actions,
// views <- main).

import {Connection} from "./socket.js";
import {app} from "./state.js";
import {HANDLERS} from "./messages.js";
import {Actions} from "./actions.js";
import {Views} from "./views.js";

const conn = new Connection("/ws", app.token);
const views = new Views();
const actions = new Actions(conn);

// Each message updates the state; what it changed shows at once, the pictures at the next frame.
for (const [type, handle] of Object.entries(HANDLERS)) {
  conn.on(type, (msg) => {
    handle(msg, actions);
    views.sync();
  });
}

function loop(now) {
  views.frame(now);
  requestAnimationFrame(loop);
}

window.playground = app;       // for the browser tests and the curious: the page's state, read-only use
views.sync();
conn.open();
requestAnimationFrame(loop);
