/*
 * OpenPicker filepicker.js: the v2 `window.filepicker` API, served by an OpenPicker backend.
 *
 *   <script src="https://files.example.com/library/filepicker.js"></script>
 *   filepicker.setKey("APIKEY");
 *   filepicker.pick({mimetype: "image/*", services: ["FLICKR"]}, onSuccess, onError, onProgress);
 *
 * The dialog runs on the OpenPicker origin (an iframe or a popup) and answers by postMessage;
 * this script accepts messages only from that origin and that window, and only for the dialog
 * it opened. Everything else (convert, remove, stat, logout) calls the public HTTP API.
 * Blob = {url, filename, mimetype, size, key?, container?, client, isWriteable}.
 */
(function (window, document) {
  "use strict";

  var VERSION = "2.0-openpicker";
  var CONVERT_WAIT_MS = 120000; // how long convert() keeps asking while a conversion runs

  // Where this script came from: the default OpenPicker (filepicker.hostname overrides it).
  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src, window.location.href).origin
    : window.location.origin;

  var apikey = null;
  var dialogs = 0;
  var memoryTokens = {};

  // Errors -----------------------------------------------------------------------------------

  // FPError codes of the v2 library: 101 the user closed the dialog, 102 a bad argument,
  // 151 the dialog reported an error, 142 a file that is not an OpenPicker URL, 171 HTTP errors.
  function FPError(code, message, detail) {
    this.code = code;
    this.message = message;
    this.detail = detail || null;
  }
  FPError.prototype.toString = function () {
    return "FPError " + this.code + ": " + this.message;
  };

  function reportTo(onError) {
    return function (error) {
      var fp = error instanceof FPError ? error : new FPError(171, String(error && error.message || error));
      if (onError) onError(fp);
      else if (window.console) window.console.error(fp.toString());
    };
  }

  // Arguments ----------------------------------------------------------------------------------

  // The v2 signatures let options (and store options) be left out: fn(options?, [store?,]
  // onSuccess, onError?, onProgress?). Returns the objects first, then the three callbacks.
  function split(args, objects) {
    var list = Array.prototype.slice.call(args);
    var out = [];
    for (var i = 0; i < objects; i++) {
      out.push(list.length && typeof list[0] !== "function" ? list.shift() || {} : {});
    }
    return out.concat([list[0], list[1], list[2]]);
  }

  function asList(value) {
    if (value === undefined || value === null || value === "") return [];
    return Array.isArray(value) ? value : [value];
  }

  function requireKey() {
    if (!apikey) throw new FPError(102, "API key not set: call filepicker.setKey(key) first");
    return apikey;
  }

  // Where OpenPicker lives --------------------------------------------------------------------

  function base() {
    var host = filepicker.hostname;
    if (!host) return scriptOrigin;
    if (!/^https?:\/\//i.test(host)) host = window.location.protocol + "//" + host;
    return new URL(host).origin;
  }

  // The handle and origin of an OpenPicker file URL (or a Blob carrying one).
  function fileOf(input) {
    var url = typeof input === "string" ? input : input && input.url;
    var match = /^(https?:\/\/[^/]+)\/api\/file\/([A-Za-z0-9_-]+)/.exec(url || "");
    if (!match) throw new FPError(142, "not an OpenPicker file URL: " + url);
    return {origin: match[1], handle: match[2], url: url};
  }

  // Session token of the end user's cloud connections, kept per OpenPicker and API key.
  function tokenName() {
    return "openpicker:token:" + base() + ":" + apikey;
  }
  function readToken() {
    try {
      return window.localStorage.getItem(tokenName()) || "";
    } catch (e) {
      return memoryTokens[tokenName()] || "";
    }
  }
  function writeToken(token) {
    memoryTokens[tokenName()] = token;
    try {
      if (token) window.localStorage.setItem(tokenName(), token);
      else window.localStorage.removeItem(tokenName());
    } catch (e) { /* storage refused (private mode): the memory copy serves this page */ }
  }

  // The v2 Blob from a server reply (store, cloud, convert answers).
  function toBlob(reply) {
    var blob = {
      url: reply.url,
      filename: reply.filename,
      mimetype: reply.mimetype || reply.type,
      size: reply.size,
      client: reply.client || "computer",
      isWriteable: reply.isWriteable !== undefined ? !!reply.isWriteable : reply.writeable !== false
    };
    if (reply.key) blob.key = reply.key;
    if (reply.container) blob.container = reply.container;
    return blob;
  }

  // HTTP ---------------------------------------------------------------------------------------

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (name) {
      var value = params[name];
      if (value === undefined || value === null || value === "" || value === false) return;
      parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(value)));
    });
    return parts.join("&");
  }

  function request(method, url, body, headers) {
    return window.fetch(url, {method: method, body: body, headers: headers || {}, credentials: "omit"})
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!response.ok) {
            var detail = data && (data.detail || data.error) || response.statusText;
            throw new FPError(171, "HTTP " + response.status + ": " + detail, data);
          }
          return {status: response.status, data: data, response: response};
        });
      });
  }

  function security(options) {
    return {policy: options.policy, signature: options.signature};
  }

  // The dialog ---------------------------------------------------------------------------------

  var MODAL_STYLE = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.5);" +
    "display:flex;align-items:center;justify-content:center";
  var FRAME_STYLE = "width:min(900px,100vw);height:min(640px,100vh);border:0;border-radius:6px;" +
    "background:#fff;box-shadow:0 4px 24px rgba(0,0,0,.4)";

  // Open the dialog where `options.container` says; the view knows its window and how to go.
  function openView(url, container) {
    container = container || "modal";
    if (container === "window") {
      var popup = window.open(url, "openpicker_dialog", "width=900,height=640,resizable,scrollbars");
      if (!popup) throw new FPError(102, "the browser blocked the picker's window");
      return {window: popup, close: function () { popup.close(); }};
    }
    if (container === "modal") {
      var overlay = document.createElement("div");
      overlay.setAttribute("style", MODAL_STYLE);
      overlay.setAttribute("data-openpicker", "modal");
      var frame = document.createElement("iframe");
      frame.setAttribute("style", FRAME_STYLE);
      frame.setAttribute("title", "File picker");
      frame.setAttribute("allow", "clipboard-read");
      frame.src = url;
      overlay.appendChild(frame);
      // Called from a script in <head>, before <body> exists: the overlay goes on <html>.
      (document.body || document.documentElement).appendChild(overlay);
      return {window: frame.contentWindow, close: function () { overlay.remove(); }};
    }
    var own = document.getElementById(container);
    if (!own || own.tagName !== "IFRAME") {
      throw new FPError(102, "container must be 'modal', 'window' or the id of an iframe");
    }
    own.src = url;
    return {window: own.contentWindow, close: function () { own.src = "about:blank"; }};
  }

  // Open /dialog/<kind>/ and route its messages to the callbacks until it finishes.
  function dialog(kind, params, options, onSuccess, onError, onProgress) {
    var fail = reportTo(onError);
    var id = String(++dialogs) + "-" + Math.random().toString(36).slice(2, 10);
    var origin = base();
    var url = origin + "/dialog/" + kind + "/?" + query(Object.assign({
      key: requireKey(),
      origin: window.location.origin,
      id: id,
      policy: options.policy,
      signature: options.signature
    }, params)) + "#token=" + encodeURIComponent(readToken());
    var view = openView(url, options.container);
    var done = false;

    function finish() {
      done = true;
      window.removeEventListener("message", listen);
      window.clearInterval(watch);
      view.close();
    }
    function listen(event) {
      if (event.origin !== origin || event.source !== view.window) return;
      var message = event.data;
      if (!message || message.openpicker !== 1 || message.id !== id) return;
      if (message.type === "token") {
        writeToken(message.payload);
      } else if (message.type === "progress") {
        if (onProgress) onProgress(message.payload);
      } else if (message.type === "done") {
        finish();
        var result = message.payload;
        onSuccess(Array.isArray(result) ? result.map(toBlob) : toBlob(result));
      } else if (message.type === "error") {
        finish();
        fail(new FPError(151, message.payload && message.payload.detail || "the picker failed",
          message.payload));
      } else if (message.type === "close") {
        finish();
        fail(new FPError(101, "The user closed the dialog."));
      }
    }
    // A popup closed by the window manager says nothing: notice it.
    var watch = window.setInterval(function () {
      if (!done && view.window && view.window.closed) {
        finish();
        fail(new FPError(101, "The user closed the dialog."));
      }
    }, 500);
    window.addEventListener("message", listen);
  }

  function pickerParams(options, multiple) {
    return {
      s: asList(options.services).join(",").toUpperCase(),
      m: asList(options.mimetypes || options.mimetype).join(","),
      ext: asList(options.extensions || options.extension).join(","),
      maxSize: options.maxSize,
      maxFiles: options.maxFiles,
      openTo: options.openTo,
      multi: multiple ? "1" : ""
    };
  }

  function storeParams(store) {
    store = store || {};
    return {
      store_location: store.location || "S3",
      store_path: store.path,
      store_container: store.container,
      store_access: store.access
    };
  }

  function guarded(run, onError) {
    try {
      run();
    } catch (error) {
      reportTo(onError)(error);
    }
  }

  // The API --------------------------------------------------------------------------------------

  function setKey(key) {
    apikey = key;
  }

  function pick() {
    var a = split(arguments, 1);
    guarded(function () {
      dialog("open", pickerParams(a[0], false), a[0], a[1], a[2], a[3]);
    }, a[2]);
  }

  function pickMultiple() {
    var a = split(arguments, 1);
    guarded(function () {
      dialog("open", pickerParams(a[0], true), a[0], a[1], a[2], a[3]);
    }, a[2]);
  }

  // pickAndStore(pickerOptions, storeOptions, onSuccess([Blob]), onError, onProgress)
  function pickAndStore() {
    var a = split(arguments, 2);
    var multiple = !!a[0].multiple;
    var params = Object.assign(pickerParams(a[0], multiple), storeParams(a[1]));
    guarded(function () {
      dialog("open", params, a[0], function (result) {
        a[2](Array.isArray(result) ? result : [result]);
      }, a[3], a[4]);
    }, a[3]);
  }

  // exportFile(urlOrBlob, {mimetype, extension, suggestedFilename, services}, onSuccess, ...)
  function exportFile(input) {
    var a = split(Array.prototype.slice.call(arguments, 1), 1);
    var options = a[0];
    guarded(function () {
      var url = typeof input === "string" ? input : input && input.url;
      if (!url) throw new FPError(102, "exportFile needs a URL or a Blob");
      var params = {
        s: asList(options.services).join(",").toUpperCase(),
        m: asList(options.mimetype || options.mimetypes).join(","),
        url: url,
        filename: (options.suggestedFilename || "") + (options.extension || "")
      };
      dialog("save", params, options, a[1], a[2], a[3]);
    }, a[2]);
  }

  var CONVERT_NAMES = {width: "w", height: "h"};

  function convertParams(options) {
    var params = {};
    Object.keys(options).forEach(function (name) {
      var value = options[name];
      if (name === "crop" && Array.isArray(value)) value = value.join(",");
      params[CONVERT_NAMES[name] || name] = value;
    });
    return params;
  }

  // convert(blob, convertOptions, [storeOptions,] onSuccess(Blob), onError, onProgress)
  function convert(input) {
    var a = split(Array.prototype.slice.call(arguments, 1), 2);
    var options = a[0], store = a[1], onSuccess = a[2], onProgress = a[4];
    var fail = reportTo(a[3]);
    guarded(function () {
      var file = fileOf(input);
      var params = Object.assign(convertParams(options), {
        key: requireKey(),
        storeLocation: store.location || "S3",
        storePath: store.path,
        storeContainer: store.container,
        storeAccess: store.access
      }, security(options));
      var url = file.origin + "/api/file/" + file.handle + "/convert?" + query(params);
      var deadline = Date.now() + CONVERT_WAIT_MS;
      if (onProgress) onProgress(0);
      var attempt = function () {
        request("POST", url).then(function (answer) {
          if (answer.status === 202 && Date.now() < deadline) {
            var wait = Number(answer.response.headers.get("Retry-After")) || 1;
            window.setTimeout(attempt, wait * 1000);
            return;
          }
          if (answer.status !== 200) throw new FPError(171, "the conversion did not finish in time");
          if (onProgress) onProgress(100);
          onSuccess(toBlob(answer.data));
        }).catch(fail);
      };
      attempt();
    }, a[3]);
  }

  // remove(blob, [options,] onSuccess(), onError)
  function remove(input) {
    var a = split(Array.prototype.slice.call(arguments, 1), 1);
    var fail = reportTo(a[2]);
    guarded(function () {
      var file = fileOf(input);
      var body = query(Object.assign({key: requireKey()}, security(a[0])));
      request("POST", file.origin + "/api/file/" + file.handle + "/remove", body,
        {"Content-Type": "application/x-www-form-urlencoded"})
        .then(function () { if (a[1]) a[1](); })
        .catch(fail);
    }, a[2]);
  }

  // stat(blob, [{size: true, width: true, ...},] onSuccess(metadata), onError)
  function stat(input) {
    var a = split(Array.prototype.slice.call(arguments, 1), 1);
    var fail = reportTo(a[2]);
    guarded(function () {
      var file = fileOf(input);
      var flags = {};
      Object.keys(a[0]).forEach(function (name) {
        if (a[0][name] === true) flags[name] = "true";
      });
      var params = Object.assign(flags, security(a[0]));
      request("GET", file.origin + "/api/file/" + file.handle + "/metadata?" + query(params))
        .then(function (answer) { a[1](answer.data); })
        .catch(fail);
    }, a[2]);
  }

  // logout([options,] onSuccess(), onError): forget the end user's cloud connections.
  function logout() {
    var a = split(arguments, 1);
    var fail = reportTo(a[2]);
    guarded(function () {
      var key = requireKey();
      var token = readToken();
      if (!token) {
        if (a[1]) a[1]();
        return;
      }
      var body = Object.assign({apikey: key, token: token}, security(a[0]));
      request("POST", base() + "/cloud/auth/logout", JSON.stringify(body),
        {"Content-Type": "application/json"})
        .then(function () {
          writeToken("");
          if (a[1]) a[1]();
        })
        .catch(fail);
    }, a[2]);
  }

  var filepicker = window.filepicker && typeof window.filepicker === "object" ? window.filepicker : {};
  Object.assign(filepicker, {
    version: VERSION,
    FPError: FPError,
    setKey: setKey,
    pick: pick,
    pickMultiple: pickMultiple,
    pickAndStore: pickAndStore,
    exportFile: exportFile,
    convert: convert,
    remove: remove,
    stat: stat,
    logout: logout
  });
  window.filepicker = filepicker;
})(window, document);
