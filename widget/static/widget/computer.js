/*
 * The dialog's My Computer panel: drag and drop or browse, then the multipart upload API
 * (start, a signed PUT per 5 MB part with its Content-MD5, complete), with progress.
 */
(function (window, document) {
  "use strict";

  var dialog = window.OpenPickerDialog;
  var config = dialog.config;
  var state = dialog.state;
  var panel = dialog.panel;
  var send = dialog.send;
  var showError = dialog.showError;
  var setStatus = dialog.setStatus;
  var el = dialog.el;
  var humanSize = dialog.humanSize;
  var ApiError = dialog.ApiError;
  var json = dialog.json;
  var wait = dialog.wait;
  var checkFile = dialog.checkFile;
  var checkCount = dialog.checkCount;
  var storeOptions = dialog.storeOptions;
  var finish = dialog.finish;

  var PART_SIZE = 5 * 1024 * 1024;
  var PART_ATTEMPTS = 4;

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
    run({files: chosen, blobs: [], records: chosen.map(function () { return {parts: []}; }),
      progress: progress});
  }

  // One file after another, the parts of each in order (progress reads naturally). A job that
  // fails keeps its multipart sessions and the parts the server has: Resume sends the rest.
  function run(job) {
    state.busy = true;
    showError("");
    job.files.slice(job.blobs.length).reduce(function (previous, file) {
      return previous.then(function () {
        var index = job.blobs.length;
        return upload(file, job.records[index], function (bytes) { job.progress(index, bytes); })
          .then(function (blob) { job.blobs.push(Object.assign(blob, {client: "computer"})); });
      });
    }, Promise.resolve()).then(function () {
      state.busy = false;
      finish(job.blobs);
    }).catch(function (error) {
      state.busy = false;
      setStatus("");
      showError("The upload failed: " + error.message);
      var resume = el("button", {type: "button", class: "primary", "data-testid": "resume",
        text: "Resume the upload", onclick: function () { resume.remove(); run(job); }});
      panel.appendChild(resume);
      resume.focus();
    });
  }

  // start → (upload → PUT) per part not sent yet, retried → complete (202 = still assembling).
  // `record` keeps the session and the sent parts across a Resume.
  function upload(file, record, onBytes) {
    var mimetype = file.type || "application/octet-stream";
    var store = storeOptions();
    var started = record.session ? Promise.resolve() : json("/upload/multipart/start", {
      filename: file.name, mimetype: mimetype, size: file.size, store: store || undefined
    }).then(function (answer) { record.session = answer.data; });
    return started.then(function () {
      var count = Math.max(1, Math.ceil(file.size / PART_SIZE));
      var chain = Promise.resolve();
      for (var number = 1; number <= count; number++) {
        var sent = record.parts.some(function (part) { return part.part_number === number; });
        if (!sent) chain = chain.then(sendPart.bind(null, file, record.session, number, record.parts, onBytes));
      }
      return chain;
    }).then(function () {
      record.parts.sort(function (a, b) { return a.part_number - b.part_number; });
      return complete(file, mimetype, record.session, record.parts, store);
    });
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

  dialog.panels.computer = showComputer;
})(window, document);
