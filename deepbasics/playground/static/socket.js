// The page's side of the protocol (PROTOCOL.md): one WebSocket per tab, JSON messages.
// Handlers are registered per message type; `send` drops messages while the socket is closed
// and says so through the "closed" handler instead of throwing. The server's token (when the page
// has one) goes in the socket's address; the cookie the page's first answer set carries it too.
//
// Imports nothing; main.js opens it and hands each message type to messages.js.

export class Connection {
  constructor(path = "/ws", token = null) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}` + (token ? `?token=${encodeURIComponent(token)}` : "");
    this.handlers = new Map();
    this.ws = null;
  }

  on(type, handler) {
    this.handlers.set(type, handler);
    return this;
  }

  emit(type, payload) {
    const handler = this.handlers.get(type);
    if (handler) handler(payload);
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => this.emit("open"));
    ws.addEventListener("close", (event) => this.emit("closed", event));
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        this.emit("error", {message: "the server sent a message the page cannot read"});
        return;
      }
      this.emit(message.type, message);
    });
  }

  get ready() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.ready) {
      this.emit("closed", null);
      return false;
    }
    this.ws.send(JSON.stringify(message));
    return true;
  }

  // The messages of the protocol, by name.
  configure(config, compare) { return this.send({type: "configure", config, compare: compare ?? null}); }
  play() { return this.send({type: "play"}); }
  pause() { return this.send({type: "pause"}); }
  step() { return this.send({type: "step"}); }
  reset() { return this.send({type: "reset"}); }
  speed(epochsPerSecond) { return this.send({type: "speed", epochs_per_second: epochsPerSecond}); }
  exportToml() { return this.send({type: "export"}); }
}
