/*
 * The dialog's Link panel: a URL, stored by the server (which fetches it through its
 * outbound guard) with POST /api/store/S3.
 */
(function (window, document) {
  "use strict";

  var dialog = window.OpenPickerDialog;
  var config = dialog.config;
  var state = dialog.state;
  var panel = dialog.panel;
  var selectButton = dialog.selectButton;
  var showError = dialog.showError;
  var setStatus = dialog.setStatus;
  var el = dialog.el;
  var call = dialog.call;
  var checkFile = dialog.checkFile;
  var storeOptions = dialog.storeOptions;
  var finish = dialog.finish;


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
          if (problem) return discard(blob, problem);
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

  // The server learns what a URL holds only by fetching it: a file the site does not accept is
  // removed again, so the refusal leaves nothing behind.
  function discard(blob, problem) {
    setStatus("");
    showError(problem);
    var body = new URLSearchParams({key: config.apikey});
    if (config.policy) { body.set("policy", config.policy); body.set("signature", config.signature); }
    return call("POST", "/api/file/" + blob.handle + "/remove", body,
      {"Content-Type": "application/x-www-form-urlencoded"})
      .catch(function (error) {
        showError(problem + " It could not be removed again: " + error.message);
      });
  }

  dialog.panels.url = showLink;
})(window, document);
