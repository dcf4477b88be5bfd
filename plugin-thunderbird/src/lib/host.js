// The one long-lived native-messaging port to `rapport native-host`, with request ids, replies
// matched to requests, timeouts, and reconnection on the next call after a disconnect.

/** An RPC failure. `transient` errors (host gone, timeout, database busy) are worth retrying. */
export class HostError extends Error {
  constructor(code, message, transient) {
    super(message);
    this.name = "HostError";
    this.code = code;
    this.transient = transient;
  }
}

/** Error codes of replies that will not change on retry: the request itself is wrong. */
const PERMANENT = new Set(["InvalidInput", "InvalidRequest", "TooLarge", "UnknownMethod", "NotFound"]);

export class HostClient {
  /**
   * @param {object} o
   * @param {() => object} o.connect opens a port (runtime.connectNative bound to the host name)
   * @param {number} [o.timeoutMs] how long to wait for a reply before giving up on it
   * @param {(fn: Function, ms: number) => any} [o.setTimer]
   * @param {(t: any) => void} [o.clearTimer]
   * @param {() => number} [o.now]
   */
  constructor({
    connect,
    timeoutMs = 120_000,
    // Wrapped: Gecko's timer functions must be called with the window as `this`.
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (t) => clearTimeout(t),
    now = () => Date.now(),
  }) {
    Object.assign(this, { connect, timeoutMs, setTimer, clearTimer, now });
    this.port = null;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.status = { connected: false, lastError: null, connects: 0, disconnects: 0, lastReplyAt: null };
  }

  /** Calls `fn(status)` whenever the connection state changes; returns an unsubscribe function. */
  onStatus(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) {
      try {
        fn({ ...this.status });
      } catch {
        // a broken listener must not break the transport
      }
    }
  }

  ensurePort() {
    if (this.port) return this.port;
    let port;
    try {
      port = this.connect();
    } catch (e) {
      this.status.lastError = String((e && e.message) || e);
      this.emit();
      throw new HostError("Disconnected", `cannot start the Rapport host: ${this.status.lastError}`, true);
    }
    this.port = port;
    this.status.connects += 1;
    this.status.connected = true;
    port.onMessage.addListener((reply) => this.onReply(port, reply));
    port.onDisconnect.addListener((p) => this.onDisconnect(port, p));
    this.emit();
    return port;
  }

  onReply(port, reply) {
    if (port !== this.port || !reply || typeof reply !== "object") return;
    this.status.lastReplyAt = this.now();
    const entry = this.pending.get(reply.id);
    if (!entry) return; // a reply to a request that already timed out
    this.pending.delete(reply.id);
    this.clearTimer(entry.timer);
    if (reply.error) {
      const code = String(reply.error.code || "Error");
      entry.reject(new HostError(code, String(reply.error.message || code), !PERMANENT.has(code)));
    } else {
      entry.resolve(reply.result);
    }
  }

  onDisconnect(port, p) {
    if (port !== this.port) return;
    const why = (p && p.error && p.error.message) || "the Rapport host exited";
    this.port = null;
    this.status.connected = false;
    this.status.disconnects += 1;
    this.status.lastError = why;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const entry of waiting) {
      this.clearTimer(entry.timer);
      entry.reject(new HostError("Disconnected", why, true));
    }
    this.emit();
  }

  /**
   * Sends one request; resolves with its `result` or rejects with a HostError.
   * @param {string} method
   * @param {object} [params]
   * @param {{timeoutMs?: number}} [options]
   */
  call(method, params = {}, { timeoutMs } = {}) {
    return new Promise((resolve, reject) => {
      let port;
      try {
        port = this.ensurePort();
      } catch (e) {
        reject(e);
        return;
      }
      const id = this.nextId++;
      const timer = this.setTimer(() => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        reject(new HostError("Timeout", `no reply to ${method} within ${timeoutMs ?? this.timeoutMs} ms`, true));
      }, timeoutMs ?? this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      try {
        port.postMessage({ id, method, params });
      } catch (e) {
        this.pending.delete(id);
        this.clearTimer(timer);
        // A port that cannot post is dead: drop it so the next call reconnects.
        if (this.port === port) this.onDisconnect(port, { error: { message: String((e && e.message) || e) } });
        reject(new HostError("Disconnected", String((e && e.message) || e), true));
      }
    });
  }

  /** Closes the port (the host exits when its stdin closes). */
  close() {
    const port = this.port;
    if (!port) return;
    this.onDisconnect(port, { error: { message: "closed by the extension" } });
    try {
      port.disconnect();
    } catch {
      // already closed
    }
  }
}
