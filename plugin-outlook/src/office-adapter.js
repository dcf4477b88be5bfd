/*
 * Rapport for Outlook: the one module that touches Office.js.
 *
 * Every Office.* call of the add-in goes through here, so the rest of the code (capture,
 * bridge client, task pane, send handler) can be tested with a fake adapter, and tests of this
 * module run under Node with office-addin-mock. Callback-style *Async APIs become promises.
 * `Office` is looked up at call time (never at load time), so tests can install a mock first.
 *
 * A classic script (no imports: classic Outlook on Windows runs event handlers in a
 * JavaScript-only runtime without modules): it defines globalThis.RapportOffice, under Node
 * too, where the unit tests load it the way a page does.
 */
(function (root) {
  "use strict";

  function office() {
    const o = root.Office;
    if (!o) throw new Error("Office.js is not loaded");
    return o;
  }

  function mailbox() {
    const o = office();
    return o.context && o.context.mailbox ? o.context.mailbox : null;
  }

  const SUCCEEDED = "succeeded";

  /** Calls a callback-style Office API and resolves with asyncResult.value. */
  function call(target, method, args) {
    return new Promise(function (resolve, reject) {
      if (!target || typeof target[method] !== "function") {
        reject(new Error(method + " is not available in this Outlook"));
        return;
      }
      const list = (args || []).slice();
      list.push(function (result) {
        const status = result && result.status;
        const ok = status === SUCCEEDED || status === statusEnum().Succeeded;
        if (ok) resolve(result.value);
        else {
          const err = (result && result.error) || {};
          reject(new Error(method + " failed: " + (err.message || err.name || "unknown error")));
        }
      });
      try {
        target[method].apply(target, list);
      } catch (e) {
        reject(e);
      }
    });
  }

  function statusEnum() {
    const o = root.Office;
    return (o && o.AsyncResultStatus) || { Succeeded: SUCCEEDED };
  }

  function eventType(name) {
    const o = root.Office;
    return (o && o.EventType && o.EventType[name]) || name;
  }

  function address(d) {
    if (!d) return null;
    return { name: d.displayName || "", address: (d.emailAddress || "").trim() };
  }

  function addresses(list) {
    return (Array.isArray(list) ? list : []).map(address).filter(function (a) {
      return a && a.address;
    });
  }

  function toIso(d) {
    if (!d) return null;
    const t = d instanceof Date ? d : new Date(d);
    return isNaN(t.getTime()) ? null : t.toISOString();
  }

  /** The fields of a message in read mode (Mailbox 1.1) as plain data. */
  function readFields(item) {
    if (!item) return null;
    return {
      itemId: item.itemId || "",
      itemType: item.itemType || "",
      internetMessageId: item.internetMessageId || "",
      conversationId: item.conversationId || "",
      subject: item.subject || "",
      from: address(item.from),
      sender: address(item.sender),
      to: addresses(item.to),
      cc: addresses(item.cc),
      dateTimeCreated: toIso(item.dateTimeCreated),
    };
  }

  /** Wraps a read-mode item (the current one, or one loaded by id) with its async getters. */
  function wrapRead(item) {
    return {
      fields: function () {
        return readFields(item);
      },
      /** Base64 EML (Mailbox 1.14). */
      getEml: function () {
        return call(item, "getAsFileAsync", []);
      },
      /** All internet headers as one string (Mailbox 1.8). */
      getHeaders: function () {
        return call(item, "getAllInternetHeadersAsync", []);
      },
      unload: function () {
        if (item && typeof item.unloadAsync === "function") return call(item, "unloadAsync", []);
        return Promise.resolve();
      },
    };
  }

  function recipients(field) {
    if (!field) return Promise.resolve([]);
    if (typeof field.getAsync === "function") return call(field, "getAsync", []).then(addresses);
    return Promise.resolve(addresses(field));
  }

  function optional(promise) {
    return promise.then(
      function (v) {
        return v;
      },
      function () {
        return null;
      }
    );
  }

  const adapter = {
    /** Resolves when Office.js is ready: {host, platform} (null outside Office). */
    ready: function () {
      const o = office();
      if (typeof o.onReady === "function") return Promise.resolve(o.onReady());
      return Promise.resolve({ host: null, platform: null });
    },

    /** Whether this Outlook supports Mailbox requirement set `version` (e.g. "1.14"). */
    supports: function (version) {
      const o = root.Office;
      try {
        return !!(o && o.context && o.context.requirements && o.context.requirements.isSetSupported("Mailbox", version));
      } catch (e) {
        return false;
      }
    },

    /** The signed-in user's address (lower case), or "". */
    userAddress: function () {
      const m = mailbox();
      const p = m && m.userProfile;
      return p && p.emailAddress ? String(p.emailAddress).trim().toLowerCase() : "";
    },

    /** The message in read mode on screen, wrapped; null when none (or not a message). */
    currentItem: function () {
      const m = mailbox();
      const item = m && m.item;
      if (!item) return null;
      const type = item.itemType;
      const message = office().MailboxEnums && office().MailboxEnums.ItemType ? office().MailboxEnums.ItemType.Message : "message";
      if (type && type !== message && type !== "message") return null;
      return wrapRead(item);
    },

    /** Calls `handler` when the selected item changes in a pinned pane (Mailbox 1.5). */
    onItemChanged: function (handler) {
      const m = mailbox();
      if (!m || !adapter.supports("1.5")) return Promise.resolve(false);
      return call(m, "addHandlerAsync", [eventType("ItemChanged"), handler]).then(function () {
        return true;
      });
    },

    /** Calls `handler` when the selection of several messages changes (Mailbox 1.13). */
    onSelectionChanged: function (handler) {
      const m = mailbox();
      if (!m || !adapter.supports("1.13")) return Promise.resolve(false);
      return call(m, "addHandlerAsync", [eventType("SelectedItemsChanged"), handler]).then(function () {
        return true;
      });
    },

    /** The selected messages: [{itemId, subject, internetMessageId}] (Mailbox 1.13). */
    selectedItems: function () {
      const m = mailbox();
      return call(m, "getSelectedItemsAsync", []).then(function (items) {
        return (items || []).map(function (i) {
          return { itemId: i.itemId, subject: i.subject || "", internetMessageId: i.internetMessageId || "" };
        });
      });
    },

    /** Loads one selected message by id, wrapped; call unload() before the next (Mailbox 1.15). */
    loadItem: function (itemId) {
      const m = mailbox();
      return call(m, "loadItemByIdAsync", [itemId]).then(wrapRead);
    },

    /** What a message being sent carries: from, to, cc, bcc, subject, inReplyTo (compose mode). */
    composeDetails: function (item) {
      const it = item || (mailbox() && mailbox().item);
      if (!it) return Promise.reject(new Error("no message is being composed"));
      const from = it.from && typeof it.from.getAsync === "function" ? optional(call(it.from, "getAsync", [])).then(address) : Promise.resolve(null);
      const subject = it.subject && typeof it.subject.getAsync === "function" ? optional(call(it.subject, "getAsync", [])) : Promise.resolve(typeof it.subject === "string" ? it.subject : "");
      return Promise.all([from, optional(recipients(it.to)), optional(recipients(it.cc)), optional(recipients(it.bcc)), subject]).then(function (v) {
        return {
          from: v[0],
          to: v[1] || [],
          cc: v[2] || [],
          bcc: v[3] || [],
          subject: v[4] || "",
          inReplyTo: typeof it.inReplyTo === "string" ? it.inReplyTo : null,
        };
      });
    },

    /** Sets internet headers on the message being composed (Mailbox 1.8, read/write item). */
    setHeaders: function (item, headers) {
      const it = item || (mailbox() && mailbox().item);
      if (!it || !it.internetHeaders || !adapter.supports("1.8")) {
        return Promise.reject(new Error("internet headers cannot be set in this Outlook"));
      }
      return call(it.internetHeaders, "setAsync", [headers]);
    },

    /** Registers an event handler named in the manifest (LaunchEvent FunctionName). */
    associate: function (name, fn) {
      const o = root.Office;
      if (o && o.actions && typeof o.actions.associate === "function") {
        o.actions.associate(name, fn);
        return true;
      }
      return false;
    },

    /** Lets the send go on (always: Rapport never stops a send). */
    allowSend: function (event) {
      if (event && typeof event.completed === "function") event.completed({ allowEvent: true });
    },

    /**
     * Small per-add-in storage shared with the event runtime: OfficeRuntime.storage where there
     * is one (shared runtimes), else the mailbox's roaming settings (every Outlook).
     */
    storageGet: function (key) {
      const s = root.OfficeRuntime && root.OfficeRuntime.storage;
      if (s && typeof s.getItem === "function") {
        return Promise.resolve(s.getItem(key)).catch(function () {
          return null;
        });
      }
      const roaming = root.Office && root.Office.context && root.Office.context.roamingSettings;
      if (!roaming) return Promise.resolve(null);
      try {
        return Promise.resolve(roaming.get(key) || null);
      } catch (e) {
        return Promise.resolve(null);
      }
    },
    storageSet: function (key, value) {
      const s = root.OfficeRuntime && root.OfficeRuntime.storage;
      if (s && typeof s.setItem === "function") {
        return Promise.resolve(s.setItem(key, value)).then(
          function () {
            return true;
          },
          function () {
            return false;
          }
        );
      }
      const roaming = root.Office && root.Office.context && root.Office.context.roamingSettings;
      if (!roaming) return Promise.resolve(false);
      return new Promise(function (resolve) {
        try {
          roaming.set(key, value);
          roaming.saveAsync(function (result) {
            resolve(!result || result.status !== "failed");
          });
        } catch (e) {
          resolve(false);
        }
      });
    },
  };
  root.RapportOffice = adapter;
})(typeof globalThis !== "undefined" ? globalThis : this);
