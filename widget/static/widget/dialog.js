/*
 * The picker dialog's core: its configuration, the messages to the page that opened it, the
 * public API calls, the integrator's constraints and the services list. The panels live in
 * computer.js, link.js and clouds.js, which register themselves in OpenPickerDialog.panels.
 *
 * It calls only OpenPicker's public API (/cloud/*, /api/store, /upload/multipart/*) and answers
 * the page that opened it by postMessage, to that page's origin only (the server checked it
 * against the app's allowed origins before serving this).
 */
(function (window, document) {
  "use strict";

  var config = JSON.parse(document.getElementById("openpicker-config").textContent);

  var token = decodeURIComponent((/[#&]token=([^&]*)/.exec(window.location.hash) || [])[1] || "");
  var opener = window.opener && window.opener !== window ? window.opener : window.parent;
  var panel = document.getElementById("panel");
  var errorBox = document.getElementById("error");
  var statusBox = document.getElementById("status");
  var selectButton = document.getElementById("select");
  var saveButton = document.getElementById("save");
  var state = {service: null, busy: false, generation: 0};

  // Talking to the page that opened us --------------------------------------------------------

  function send(type, payload) {
    if (opener === window) return;
    opener.postMessage({openpicker: 1, id: config.id, type: type, payload: payload}, config.origin);
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function setStatus(text) {
    statusBox.textContent = text || "";
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else if (name === "onclick") node.addEventListener("click", attributes[name]);
      else if (attributes[name] !== null && attributes[name] !== undefined) {
        node.setAttribute(name, attributes[name]);
      }
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function humanSize(bytes) {
    if (bytes === null || bytes === undefined) return "";
    var units = ["bytes", "KB", "MB", "GB"], value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return (unit ? value.toFixed(1) : value) + " " + units[unit];
  }

  // The public API ----------------------------------------------------------------------------

  function ApiError(message, status) {
    this.message = message;
    this.status = status;
  }

  function call(method, path, body, headers) {
    return window.fetch(path, {method: method, body: body, headers: headers || {}})
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!response.ok) {
            var detail = data && (data.detail || data.error) || response.statusText;
            throw new ApiError(detail + " (HTTP " + response.status + ")", response.status);
          }
          return {status: response.status, data: data, headers: response.headers};
        });
      });
  }

  function credentials() {
    var out = {apikey: config.apikey};
    if (config.policy) { out.policy = config.policy; out.signature = config.signature; }
    return out;
  }

  function json(path, body) {
    return call("POST", path, JSON.stringify(Object.assign(credentials(), body)),
      {"Content-Type": "application/json"});
  }

  function cloud(route, body) {
    return json("/cloud/" + route, Object.assign({token: token}, body)).then(function (answer) {
      if (answer.data.token && answer.data.token !== token) {
        token = answer.data.token;
        send("token", token);
      }
      return answer.data;
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // What the integrator asked for --------------------------------------------------------------

  function mimeMatches(mimetype) {
    if (!config.mimetypes.length) return true;
    var given = (mimetype || "").toLowerCase().split("/");
    return config.mimetypes.some(function (pattern) {
      var wanted = pattern.toLowerCase().split("/");
      return (wanted[0] === "*" || wanted[0] === given[0]) &&
        (!wanted[1] || wanted[1] === "*" || wanted[1] === given[1]);
    });
  }

  function extensionMatches(name) {
    if (!config.extensions.length) return true;
    var ext = (name.split(".").pop() || "").toLowerCase();
    return config.extensions.indexOf(ext) !== -1;
  }

  function checkFile(name, mimetype, size) {
    if (!mimeMatches(mimetype) || !extensionMatches(name)) {
      return name + " is not a file this site accepts (" +
        (config.mimetypes.concat(config.extensions).join(", ")) + ").";
    }
    if (config.maxSize && size > config.maxSize) {
      return name + " is " + humanSize(size) + ", over this site's limit of " +
        humanSize(config.maxSize) + ".";
    }
    if (size > config.maxUploadBytes) {
      return name + " is " + humanSize(size) + ", over the largest file this server takes (" +
        humanSize(config.maxUploadBytes) + ").";
    }
    return null;
  }

  function checkCount(count) {
    var limit = config.multiple ? config.maxFiles : 1;
    if (limit && count > limit) {
      return "Choose at most " + limit + (limit === 1 ? " file." : " files.");
    }
    return null;
  }

  function storeOptions() {
    return Object.keys(config.store).length ? config.store : null;
  }

  function finish(blobs) {
    send("done", config.multiple || config.store.location ? blobs : blobs[0]);
    setStatus("Done.");
  }

  // Services list -----------------------------------------------------------------------------

  function renderServices() {
    var list = document.getElementById("services");
    config.services.forEach(function (service) {
      var button = el("button", {
        type: "button",
        "data-testid": service.testid,
        "data-service": service.name,
        "aria-pressed": "false",
        text: service.label,
        onclick: function () { open(service); }
      });
      list.appendChild(el("li", {}, [button]));
    });
    if (!config.services.length) {
      showError("None of the services this site asked for can provide " +
        (config.mimetypes.join(", ") || "files") + ".");
    }
  }

  function open(service) {
    if (state.busy) return;
    state.service = service;
    state.generation++;
    showError("");
    setStatus("");
    document.querySelectorAll("[data-service]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-service") === service.name));
    });
    selectButton.hidden = true;
    saveButton.hidden = true;
    panel.replaceChildren();
    dialog.panels[config.mode === "save" ? "save" : service.kind](service);
  }

  // Start ---------------------------------------------------------------------------------------

  function close() {
    send("close", null);
  }

  document.querySelector("[data-testid=close]").addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });
  // Messages from outside: only the opener's origin may speak, and it may only ask us to close.
  window.addEventListener("message", function (event) {
    if (event.origin !== config.origin || event.source !== opener) return;
    if (event.data && event.data.openpicker === 1 && event.data.type === "close") close();
  });

  // What the panels share; they add themselves to `panels` (kind → show(service)).
  var dialog = window.OpenPickerDialog = {
    config: config, state: state, panel: panel, selectButton: selectButton,
    saveButton: saveButton, panels: {}, send: send, showError: showError,
    setStatus: setStatus, el: el, humanSize: humanSize, ApiError: ApiError, call: call,
    json: json, cloud: cloud, wait: wait, mimeMatches: mimeMatches, checkFile: checkFile,
    checkCount: checkCount, storeOptions: storeOptions, finish: finish
  };

  // The panels' scripts come after this one: start once all of them have run.
  document.addEventListener("DOMContentLoaded", function () {
    renderServices();
    if (token) send("token", token);
    var first = config.services.filter(function (s) { return s.name === config.openTo; })[0] ||
      (config.services.length === 1 ? config.services[0] : null);
    if (first) open(first);
    else if (config.services.length) document.querySelector("[data-service]").focus();
    document.body.setAttribute("data-ready", "true"); // for integrators' browser tests
  });
})(window, document);
