/*
 * Rapport for Outlook: the client of the local bridge (`rapport serve`).
 *
 * POSTs {"id", "method", "params"} to <origin>/api/rpc with the per-install token, and turns
 * every way that can fail into a BridgeError with a `kind` the task pane explains. The token
 * comes from pairing: pair(code) trades the one-time code `rapport serve` shows for it.
 *   unreachable        the bridge is not running (or the certificate is not trusted)
 *   permission-denied  the browser's Local Network Access permission blocks 127.0.0.1
 *   unauthorized       wrong or missing token (not paired yet, or the token was replaced)
 *   pairing            the pairing code was wrong, used up or expired (message says which)
 *   forbidden          the bridge refused the origin or host
 *   too-large          the request was over the bridge's size limit
 *   rpc                Rapport answered with an error object ({code, message})
 *   timeout            no answer in time
 */
(function (root) {
  "use strict";

  /** Filled in by the bridge when it serves this file. */
  const SERVED_ORIGIN = "__RAPPORT_ORIGIN__";
  const TOKEN_KEY = "rapport-token";

  class BridgeError extends Error {
    constructor(kind, message, extra) {
      super(message);
      this.name = "BridgeError";
      this.kind = kind;
      Object.assign(this, extra || {});
    }
  }

  /** The bridge's origin: the page's own when it was served by the bridge. */
  function defaultOrigin() {
    const loc = root.location;
    if (loc && loc.protocol === "https:" && loc.origin) return loc.origin;
    if (SERVED_ORIGIN.indexOf("https://") === 0) return SERVED_ORIGIN;
    return "https://localhost:47815";
  }

  /**
   * Whether the browser has denied this page access to the local network. Chromium names the
   * permission "local-network-access" (Chrome 142) and later "loopback-network"/"local-network";
   * unknown names throw, which means "cannot tell".
   */
  async function localNetworkDenied() {
    const perms = root.navigator && root.navigator.permissions;
    if (!perms || typeof perms.query !== "function") return false;
    for (const name of ["loopback-network", "local-network-access", "local-network"]) {
      try {
        const status = await perms.query({ name: name });
        if (status && status.state === "denied") return true;
      } catch (e) {
        /* not a permission this browser knows */
      }
    }
    return false;
  }

  function create(options) {
    const opts = options || {};
    const origin = (opts.origin || defaultOrigin()).replace(/\/+$/, "");
    const fetchFn = opts.fetch || (root.fetch ? root.fetch.bind(root) : null);
    const timeoutMs = opts.timeoutMs || 15000;
    let token = opts.token || "";
    let nextId = 1;

    async function call(method, params) {
      if (!fetchFn) throw new BridgeError("unreachable", "this runtime cannot make web requests");
      if (!token) throw new BridgeError("unauthorized", "this pane is not paired with Rapport yet");
      const id = nextId++;
      const controller = typeof AbortController === "function" ? new AbortController() : null;
      const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
      let response;
      try {
        response = await fetchFn(origin + "/api/rpc", {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
          body: JSON.stringify({ id: id, method: method, params: params || {} }),
          signal: controller ? controller.signal : undefined,
          credentials: "omit",
          cache: "no-store",
        });
      } catch (e) {
        if (e && e.name === "AbortError") throw new BridgeError("timeout", "Rapport did not answer within " + Math.round(timeoutMs / 1000) + " s");
        const denied = await (opts.localNetworkDenied || localNetworkDenied)();
        if (denied) throw new BridgeError("permission-denied", "the browser denied access to the local network");
        throw new BridgeError("unreachable", "cannot reach Rapport at " + origin);
      } finally {
        if (timer) clearTimeout(timer);
      }
      if (response.status === 401) throw new BridgeError("unauthorized", "Rapport refused the token", { status: 401 });
      if (response.status === 403 || response.status === 421) throw new BridgeError("forbidden", "Rapport refused this page's origin", { status: response.status });
      if (response.status === 413) throw new BridgeError("too-large", "the request was too large for Rapport", { status: 413 });
      if (!response.ok) throw new BridgeError("unreachable", "Rapport answered HTTP " + response.status, { status: response.status });
      let reply;
      try {
        reply = await response.json();
      } catch (e) {
        throw new BridgeError("rpc", "Rapport sent a reply that is not JSON");
      }
      if (reply && reply.error) {
        throw new BridgeError("rpc", reply.error.message || reply.error.code || "error", { code: reply.error.code });
      }
      return reply ? reply.result : null;
    }

    /** Trades a pairing code for the token (and keeps it); resolves to the token. */
    async function pair(code) {
      if (!fetchFn) throw new BridgeError("unreachable", "this runtime cannot make web requests");
      let response;
      try {
        response = await fetchFn(origin + "/api/pair", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ code: String(code || "") }),
          credentials: "omit",
          cache: "no-store",
        });
      } catch (e) {
        const denied = await (opts.localNetworkDenied || localNetworkDenied)();
        if (denied) throw new BridgeError("permission-denied", "the browser denied access to the local network");
        throw new BridgeError("unreachable", "cannot reach Rapport at " + origin);
      }
      let reply = null;
      try {
        reply = await response.json();
      } catch (e) {
        reply = null;
      }
      if (response.ok && reply && typeof reply.token === "string") {
        token = reply.token;
        return token;
      }
      if (response.status === 403 || response.status === 421) throw new BridgeError("forbidden", "Rapport refused this page's origin", { status: response.status });
      const message = reply && reply.error && reply.error.message ? reply.error.message : "Rapport answered HTTP " + response.status;
      throw new BridgeError("pairing", message, { status: response.status, code: reply && reply.error ? reply.error.code : undefined });
    }

    return {
      origin: origin,
      call: call,
      pair: pair,
      setToken: function (t) {
        token = t || "";
      },
      hasToken: function () {
        return !!token;
      },
    };
  }

  root.RapportBridge = {
    BridgeError: BridgeError,
    create: create,
    defaultOrigin: defaultOrigin,
    localNetworkDenied: localNetworkDenied,
    TOKEN_KEY: TOKEN_KEY,
  };
})(typeof globalThis !== "undefined" ? globalThis : this);
