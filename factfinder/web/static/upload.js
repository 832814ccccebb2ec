// Resumable uploads for the submission page. Without JavaScript the form posts files directly;
// with it, each file goes up in chunks that resume after a dropped connection, and the
// server checks the whole file's SHA-256 against the one computed here.
(function () {
  "use strict";
  var form = document.getElementById("submission");
  var input = document.getElementById("files");
  if (!form || !input || !window.fetch || !window.crypto || !window.crypto.subtle) { return; }
  var CHUNK = 1024 * 1024;
  var csrf = form.dataset.csrf;
  var status = document.getElementById("upload-progress");

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function call(method, url, body, headers) {
    var h = { "X-CSRF-Token": csrf };
    for (var k in headers || {}) { h[k] = headers[k]; }
    return fetch(url, { method: method, body: body, headers: h, credentials: "same-origin" });
  }
  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  async function failure(response) {
    // The server's reason: JSON from the API, plain text from the body limit, else the status.
    var text = await response.text();
    try {
      var detail = JSON.parse(text).detail;
      if (typeof detail === "string") { return new Error(detail); }
    } catch (e) { /* not JSON */ }
    return new Error(text || ("HTTP " + response.status));
  }
  function note(text) {
    var p = status.querySelector("p.note");
    if (!p) { p = document.createElement("p"); p.className = "note"; status.appendChild(p); }
    p.textContent = text;
  }
  async function whereItStands(id) {
    // After a dropped connection: ask how far the upload got, waiting until the server answers.
    for (var tries = 1; ; tries++) {
      try {
        var response = await call("GET", "/api/v1/uploads/" + id);
        if (!response.ok) { throw await failure(response); }
        return (await response.json()).offset;
      } catch (e) {
        if (e instanceof TypeError && tries < 20) { await wait(Math.min(30000, 1000 * tries)); continue; }
        throw e;
      }
    }
  }

  async function sendChunks(id, file, bar) {
    var offset = 0;
    var failures = 0;
    while (offset < file.size) {
      var end = Math.min(offset + CHUNK, file.size);
      var response;
      try {
        response = await call("PATCH", "/api/v1/uploads/" + id, file.slice(offset, end),
          { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" });
      } catch (e) {
        failures += 1;
        if (failures > 20) { throw e; }
        note(form.dataset.resume);
        await wait(Math.min(30000, 1000 * failures));
        offset = await whereItStands(id);
        continue;
      }
      if (response.status === 409) { offset = (await response.json()).offset; continue; }
      if (!response.ok) { throw await failure(response); }
      offset = (await response.json()).offset;
      failures = 0;
      bar.value = offset;
    }
  }

  async function upload(file) {
    var bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.setAttribute("aria-label", form.dataset.uploading + " " + file.name);
    status.appendChild(bar);
    var digest = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    var created = await call("POST", "/api/v1/uploads", JSON.stringify({ size: file.size, filename: file.name }),
      { "Content-Type": "application/json" });
    if (!created.ok) { throw await failure(created); }
    var id = (await created.json()).id;
    await sendChunks(id, file, bar);
    var done = await call("POST", "/api/v1/uploads/" + id + "/complete", JSON.stringify({ sha256: digest }),
      { "Content-Type": "application/json" });
    if (!done.ok) { throw await failure(done); }
    bar.value = bar.max;
    return id;
  }

  form.addEventListener("submit", async function (event) {
    if (!input.files.length) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      for (var i = 0; i < input.files.length; i++) {
        var id = await upload(input.files[i]);
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "upload"; hidden.value = id;
        form.appendChild(hidden);
      }
      input.disabled = true; // the files went up in chunks; post only the form's text
      form.submit();
    } catch (e) {
      button.disabled = false;
      var p = document.createElement("p");
      p.className = "error"; p.setAttribute("role", "alert"); p.textContent = e.message;
      status.appendChild(p);
    }
  });
})();
