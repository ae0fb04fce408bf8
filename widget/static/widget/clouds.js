/*
 * The dialog's cloud panels: connect (the provider's OAuth in a popup), browse folders with
 * paging and pick (/cloud/folder/list, /cloud/store), and save a file to a cloud (/cloud/export).
 */
(function (window, document) {
  "use strict";

  var dialog = window.OpenPickerDialog;
  var config = dialog.config;
  var state = dialog.state;
  var panel = dialog.panel;
  var selectButton = dialog.selectButton;
  var saveButton = dialog.saveButton;
  var send = dialog.send;
  var showError = dialog.showError;
  var setStatus = dialog.setStatus;
  var el = dialog.el;
  var ApiError = dialog.ApiError;
  var cloud = dialog.cloud;
  var mimeMatches = dialog.mimeMatches;
  var checkFile = dialog.checkFile;
  var checkCount = dialog.checkCount;
  var storeOptions = dialog.storeOptions;
  var finish = dialog.finish;

  var SESSION = "openpicker-connected"; // what the OAuth callback page posts to its opener

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

  dialog.panels.cloud = function (service) { showCloud(service, "/"); };
  dialog.panels.save = showSave;
})(window, document);
