/*
 * The picker dialog. It calls only OpenPicker's public API (/cloud/*, /api/store,
 * /upload/multipart/*) and answers the page that opened it by postMessage, to that page's
 * origin only (the server checked it against the app's allowed origins before serving this).
 */
(function (window, document) {
  "use strict";

  var config = JSON.parse(document.getElementById("openpicker-config").textContent);
  var PART_SIZE = 5 * 1024 * 1024;
  var PART_ATTEMPTS = 4;
  var SESSION = "openpicker-connected"; // what the OAuth callback page posts to its opener

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
    if (config.mode === "save") return showSave(service);
    if (service.kind === "computer") return showComputer();
    if (service.kind === "url") return showLink();
    return showCloud(service, "/");
  }

  // My Computer: drag and drop or browse, then the multipart upload API ------------------------

  function showComputer() {
    var input = el("input", {type: "file", id: "file-input", "data-testid": "file-input",
      class: "visually-hidden"});
    if (config.multiple) input.multiple = true;
    var accept = config.mimetypes.concat(config.extensions.map(function (e) { return "." + e; }));
    if (accept.length) input.accept = accept.join(",");
    var browse = el("label", {for: "file-input", class: "button", tabindex: "0",
      "data-testid": "browse", text: "Browse files"});
    browse.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
    });
    var zone = el("div", {class: "drop", "data-testid": "drop"}, [
      el("p", {text: "Drag files here"}), el("p", {text: "or"}), browse, input
    ]);
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      uploadAll(Array.prototype.slice.call(event.dataTransfer.files));
    });
    input.addEventListener("change", function () {
      uploadAll(Array.prototype.slice.call(input.files));
    });
    panel.appendChild(zone);
    panel.appendChild(el("ul", {id: "uploads", class: "uploads", role: "list"}));
  }

  function uploadAll(chosen) {
    var problem = checkCount(chosen.length);
    chosen.forEach(function (file) {
      problem = problem || checkFile(file.name, file.type || "application/octet-stream", file.size);
    });
    if (problem) return showError(problem);
    if (!chosen.length) return;
    showError("");
    state.busy = true;
    var total = chosen.reduce(function (sum, file) { return sum + file.size; }, 0);
    var sent = chosen.map(function () { return 0; });
    var lastPercent = -1;
    var rows = chosen.map(function (file) {
      var bar = el("progress", {max: "100", value: "0", "data-testid": "progress",
        "aria-label": "Uploading " + file.name});
      var label = el("span", {class: "progress-text", text: "0%"});
      document.getElementById("uploads").appendChild(
        el("li", {}, [el("span", {class: "name", text: file.name}), bar, label]));
      return {bar: bar, label: label};
    });
    function progress(index, bytes) {
      sent[index] = bytes;
      var file = chosen[index];
      var percent = file.size ? Math.floor(bytes * 100 / file.size) : 100;
      rows[index].bar.value = percent;
      rows[index].label.textContent = percent + "% · " + humanSize(bytes) + " of " + humanSize(file.size);
      var overall = Math.floor(sent.reduce(function (a, b) { return a + b; }, 0) * 100 / (total || 1));
      if (overall !== lastPercent) {
        lastPercent = overall;
        setStatus("Uploading… " + overall + "%");
        send("progress", overall);
      }
    }
    // One file after another: the parts of each go in order, so progress reads naturally.
    var blobs = [];
    chosen.reduce(function (previous, file, index) {
      return previous.then(function () {
        return upload(file, function (bytes) { progress(index, bytes); }).then(function (blob) {
          blobs.push(Object.assign(blob, {client: "computer"}));
        });
      });
    }, Promise.resolve()).then(function () {
      state.busy = false;
      finish(blobs);
    }).catch(function (error) {
      state.busy = false;
      showError("The upload failed: " + error.message);
    });
  }

  // start → (upload → PUT) per part, retried → complete (202 = still assembling, ask again)
  function upload(file, onBytes) {
    var mimetype = file.type || "application/octet-stream";
    var store = storeOptions();
    var session;
    return json("/upload/multipart/start", {filename: file.name, mimetype: mimetype,
      size: file.size, store: store || undefined})
      .then(function (answer) {
        session = answer.data;
        var parts = [], count = Math.max(1, Math.ceil(file.size / PART_SIZE));
        var chain = Promise.resolve();
        for (var number = 1; number <= count; number++) {
          chain = chain.then(sendPart.bind(null, file, session, number, parts, onBytes));
        }
        return chain.then(function () { return parts; });
      })
      .then(function (parts) { return complete(file, mimetype, session, parts, store); });
  }

  function sendPart(file, session, number, parts, onBytes) {
    var start = (number - 1) * PART_SIZE;
    var slice = file.slice(start, Math.min(file.size, start + PART_SIZE));
    return slice.arrayBuffer().then(function (buffer) {
      var md5 = window.OpenPickerMD5.base64(buffer);
      var attempt = function (left) {
        return json("/upload/multipart/upload", {uri: session.uri, region: session.region,
          upload_id: session.upload_id, part: number, size: buffer.byteLength, md5: md5})
          .then(function (target) {
            return put(target.data.url, target.data.headers, buffer, function (loaded) {
              onBytes(start + loaded);
            });
          })
          .catch(function (error) {
            if (left <= 1 || (error.status && error.status < 500 && error.status !== 408)) throw error;
            setStatus("Part " + number + " failed; trying again…");
            return wait(1000).then(function () { return attempt(left - 1); });
          });
      };
      return attempt(PART_ATTEMPTS).then(function (etag) {
        parts.push({part_number: number, etag: etag});
        onBytes(start + buffer.byteLength);
      });
    });
  }

  function put(url, headers, buffer, onLoaded) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.addEventListener("progress", function (event) { onLoaded(event.loaded); });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve((xhr.getResponseHeader("ETag") || "").replace(/"/g, ""));
        } else {
          var detail = xhr.statusText;
          try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (e) { /* not JSON */ }
          reject(new ApiError(detail + " (HTTP " + xhr.status + ")", xhr.status));
        }
      });
      xhr.addEventListener("error", function () { reject(new ApiError("the connection failed", 0)); });
      xhr.send(buffer);
    });
  }

  function complete(file, mimetype, session, parts, store) {
    var body = {uri: session.uri, region: session.region, upload_id: session.upload_id,
      filename: file.name, mimetype: mimetype, size: file.size, parts: parts,
      store: store || undefined};
    setStatus("Finishing…");
    return json("/upload/multipart/complete", body).then(function (answer) {
      if (answer.status === 202) {
        return wait(1000).then(function () { return complete(file, mimetype, session, parts, store); });
      }
      return answer.data;
    });
  }

  // Link: the server fetches the URL (through its outbound guard) -------------------------------

  function showLink() {
    var input = el("input", {type: "url", id: "link", "data-testid": "url-input", required: "",
      placeholder: "https://example.com/photo.jpg"});
    var form = el("form", {class: "link"}, [
      el("label", {for: "link", text: "Address of the file"}), input
    ]);
    panel.appendChild(form);
    selectButton.hidden = false;
    selectButton.disabled = false;
    var submit = function (event) {
      if (event) event.preventDefault();
      if (!input.value) return showError("Type the address of a file.");
      state.busy = true;
      setStatus("Fetching…");
      var store = storeOptions() || {location: "S3"};
      var params = new URLSearchParams({key: config.apikey});
      ["path", "container", "access"].forEach(function (name) {
        if (store[name]) params.set(name, store[name]);
      });
      if (config.policy) { params.set("policy", config.policy); params.set("signature", config.signature); }
      call("POST", "/api/store/S3?" + params, new URLSearchParams({url: input.value}),
        {"Content-Type": "application/x-www-form-urlencoded"})
        .then(function (answer) {
          state.busy = false;
          var blob = answer.data;
          var problem = checkFile(blob.filename || "", blob.type || blob.mimetype, blob.size);
          if (problem) return showError(problem);
          finish([Object.assign(blob, {client: "URL"})]);
        })
        .catch(function (error) {
          state.busy = false;
          setStatus("");
          showError("Could not fetch that address: " + error.message);
        });
    };
    form.addEventListener("submit", submit);
    selectButton.onclick = submit;
    input.focus();
  }

  // Clouds: connect (OAuth popup), browse with paging, select -----------------------------------

  function needsAuth(answer) {
    return !!(answer && answer.auth && answer.auth.redirect_url);
  }

  // Show Connect; pressing it opens the provider's sign-in in a popup. Whether the popup can
  // still talk to us is up to the provider's pages (Cross-Origin-Opener-Policy severs it), so
  // the dialog asks the API again (`retry`, true once connected) until the account is there;
  // a call for a session that has not connected yet costs the provider nothing.
  function connect(service, redirectUrl, retry) {
    var generation = ++state.generation;
    var timer = null;
    var button = el("button", {type: "button", class: "primary", "data-testid": "connect",
      text: "Connect " + service.label});
    var box = el("div", {class: "connect"}, [
      el("p", {text: "Connect your " + service.label + " account to continue."}), button
    ]);
    function stop() {
      window.clearTimeout(timer);
      window.removeEventListener("message", listen);
    }
    function poll() {
      window.clearTimeout(timer);
      if (generation !== state.generation) return stop();
      retry().then(function (connected) {
        if (connected) return stop();
        timer = window.setTimeout(poll, 1500);
      }).catch(function (error) {
        stop();
        setStatus("");
        showError(service.label + ": " + error.message);
      });
    }
    function listen(event) {
      // Our own callback page, when the provider's pages left it our window: ask at once.
      if (event.origin === window.location.origin && event.data === SESSION) poll();
    }
    button.addEventListener("click", function () {
      var popup = window.open(redirectUrl, "openpicker_connect", "width=640,height=720");
      if (!popup) return showError("Your browser blocked the sign-in window; allow pop-ups.");
      setStatus("Waiting for " + service.label + "…");
      window.addEventListener("message", listen);
      timer = window.setTimeout(poll, 1500);
    });
    panel.replaceChildren(box);
    button.focus();
  }

  function showCloud(service, path) {
    state.cloud = {service: service, path: path, selected: {}, next: null};
    selectButton.hidden = false;
    selectButton.disabled = true;
    selectButton.onclick = function () { pickSelected(service); };
    listPage(service, path, null, true);
  }

  function fetchPage(service, path, next) {
    var clouds = {};
    clouds[service.cloud] = {path: path, next: next};
    return cloud("folder/list", {clouds: clouds}).then(function (answer) {
      return answer[service.cloud] || {};
    });
  }

  function listPage(service, path, next, fresh) {
    setStatus("Loading…");
    return fetchPage(service, path, next).then(function (page) {
      setStatus("");
      if (!needsAuth(page)) return renderPage(service, path, page, fresh);
      connect(service, page.auth.redirect_url, function () {
        return fetchPage(service, path, null).then(function (again) {
          if (needsAuth(again)) return false;
          setStatus("");
          renderPage(service, path, again, true);
          return true;
        });
      });
    }).catch(function (error) {
      setStatus("");
      showError(service.label + ": " + error.message);
    });
  }

  function renderPage(service, path, page, fresh) {
    var grid = panel.querySelector(".grid");
    if (fresh || !grid) {
      panel.replaceChildren();
      if (path !== "/") {
        panel.appendChild(el("button", {type: "button", class: "link-button", "data-testid": "back",
          text: "← All folders", onclick: function () { showCloud(service, "/"); }}));
      }
      grid = el("ul", {class: "grid", role: "list", "aria-label": service.label});
      panel.appendChild(grid);
    }
    var more = panel.querySelector("[data-testid=more]");
    if (more) more.remove();
    (page.contents || []).forEach(function (item) { grid.appendChild(renderItem(service, item)); });
    if (!grid.children.length) panel.appendChild(el("p", {class: "hint", text: "Nothing here yet."}));
    if (page.next) {
      panel.appendChild(el("button", {type: "button", class: "more", "data-testid": "more",
        text: "Load more", onclick: function () { listPage(service, path, page.next, false); }}));
    }
  }

  function renderItem(service, item) {
    var selectable = item.folder || mimeMatches(item.mimetype);
    var button = el("button", {
      type: "button",
      class: "item" + (item.folder ? " folder" : ""),
      "data-testid": "item",
      "data-path": item.path,
      "data-folder": item.folder ? "true" : "false",
      "aria-pressed": item.folder ? null : "false",
      title: selectable ? item.name : item.name + " (not a file this site accepts)",
      disabled: selectable ? null : ""
    }, [
      item.thumbnail ? el("img", {src: item.thumbnail, alt: "", loading: "lazy"}) : el("span", {class: "icon", text: item.folder ? "📁" : "📄"}),
      el("span", {class: "caption", text: item.name})
    ]);
    button.addEventListener("click", function () {
      if (item.folder) return showCloud(service, item.path);
      toggle(button, item);
    });
    button.addEventListener("dblclick", function () {
      if (!item.folder) pickSelected(service);
    });
    return el("li", {}, [button]);
  }

  function toggle(button, item) {
    var selected = state.cloud.selected;
    if (selected[item.path]) {
      delete selected[item.path];
      button.setAttribute("aria-pressed", "false");
    } else {
      if (!config.multiple) {
        Object.keys(selected).forEach(function (path) { delete selected[path]; });
        panel.querySelectorAll(".item[aria-pressed=true]").forEach(function (other) {
          other.setAttribute("aria-pressed", "false");
        });
      }
      selected[item.path] = item;
      button.setAttribute("aria-pressed", "true");
    }
    var count = Object.keys(selected).length;
    selectButton.disabled = count === 0;
    selectButton.textContent = count > 1 ? "Select " + count + " files" : "Select";
  }

  function pickSelected(service) {
    var items = Object.keys(state.cloud.selected).map(function (path) { return state.cloud.selected[path]; });
    var problem = checkCount(items.length);
    items.forEach(function (item) {
      problem = problem || checkFile(item.name, item.mimetype, item.size || 0);
    });
    if (problem) return showError(problem);
    if (!items.length || state.busy) return;
    showError("");
    state.busy = true;
    selectButton.disabled = true;
    setStatus("Getting " + items.length + (items.length > 1 ? " files…" : " file…"));
    var blobs = [];
    items.reduce(function (previous, item) {
      return previous.then(function () {
        var clouds = {};
        clouds[service.cloud] = {path: item.path, store: storeOptions() || undefined};
        return cloud("store/", {clouds: clouds}).then(function (answer) {
          var blob = answer[service.cloud];
          if (blob.auth) throw new ApiError("connect " + service.label + " again", 401);
          blobs.push(blob);
        });
      });
    }, Promise.resolve()).then(function () {
      state.busy = false;
      finish(blobs);
    }).catch(function (error) {
      state.busy = false;
      selectButton.disabled = false;
      setStatus("");
      showError(service.label + ": " + error.message);
    });
  }

  // Save (exportFile) ---------------------------------------------------------------------------

  function showSave(service) {
    var name = el("input", {type: "text", id: "save-name", "data-testid": "filename",
      value: config.filename || ""});
    var preview = /^https?:/.test(config.url) && (!config.mimetypes.length || mimeMatches("image/*"))
      ? el("img", {src: config.url, alt: "The file to save", class: "preview"}) : null;
    panel.replaceChildren(el("form", {class: "save"}, [
      preview,
      el("p", {class: "source", text: "Saving " + config.url}),
      el("label", {for: "save-name", text: "File name on " + service.label}),
      name
    ]));
    saveButton.hidden = false;
    saveButton.disabled = false;
    saveButton.onclick = function () { exportTo(service, name.value); };
  }

  function exportCall(service, filename) {
    var clouds = {};
    clouds[service.cloud] = {filename: filename || undefined};
    return cloud("export", {url: config.url, clouds: clouds}).then(function (answer) {
      return answer[service.cloud];
    });
  }

  function exportTo(service, filename) {
    if (state.busy) return;
    showError("");
    state.busy = true;
    saveButton.disabled = true;
    setStatus("Saving to " + service.label + "…");
    var saved = function (blob) {
      send("done", blob);
      setStatus("Saved.");
    };
    exportCall(service, filename).then(function (blob) {
      state.busy = false;
      saveButton.disabled = false;
      if (!needsAuth(blob)) return saved(blob);
      setStatus("");
      saveButton.hidden = true;
      // Saving needs write access: the export runs once the account is connected with it.
      connect(service, blob.auth.redirect_url, function () {
        return exportCall(service, filename).then(function (again) {
          if (needsAuth(again)) return false;
          saved(again);
          return true;
        });
      });
    }).catch(function (error) {
      state.busy = false;
      saveButton.disabled = false;
      setStatus("");
      showError("Could not save to " + service.label + ": " + error.message);
    });
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

  renderServices();
  if (token) send("token", token);
  var first = config.services.filter(function (s) { return s.name === config.openTo; })[0] ||
    (config.services.length === 1 ? config.services[0] : null);
  if (first) open(first);
  else if (config.services.length) document.querySelector("[data-service]").focus();
})(window, document);
