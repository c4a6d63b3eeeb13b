/* Personalise: send the form with fetch() so that the PDF comes back into this page, never into the browser's
   history. A download is saved through a temporary object URL; a preview is shown in a frame until it is closed;
   a form with fields to correct replaces this one. Nothing typed is kept by this script: no storage, no URL. */
(function () {
  "use strict";

  var area = document.getElementById("personalise-area");
  if (!area || !window.fetch || !window.FormData || !window.URL || !URL.createObjectURL) {
    return;                                        // the form posts normally and the browser saves the PDF
  }
  var panel = document.getElementById("preview-panel");
  var frame = document.getElementById("preview-frame");
  var closeButton = document.getElementById("preview-close");
  var heading = document.getElementById("preview-heading");
  var lines = document.getElementById("record-lines");
  var previewUrl = null;
  var returnFocus = null;

  function closePreview() {
    if (previewUrl) {
      URL.revokeObjectURL(previewUrl);
      previewUrl = null;
    }
    frame.removeAttribute("src");
    panel.hidden = true;
  }

  function showPreview(blob) {
    closePreview();
    previewUrl = URL.createObjectURL(blob);
    frame.src = previewUrl;
    panel.hidden = false;
    heading.focus();
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function filename(response) {
    var found = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return found ? found[1] : "filled-in-form.pdf";
  }

  function copyText(text, button) {
    function done() {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(button); });
    } else {
      selectText(button);
    }
  }

  function selectText(button) {                   // no clipboard access: select the line for Ctrl+C
    var code = button.parentNode.querySelector(".record-line");
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }

  function enableCopy(item) {
    var button = item.querySelector(".copy-record");
    if (!button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(item.querySelector(".record-line").textContent, button);
    });
  }

  function addRecord(line) {
    var item = document.createElement("li");
    var code = document.createElement("code");
    code.className = "record-line";
    code.textContent = line;                       // text, never HTML
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-record";
    button.textContent = "Copy";
    item.appendChild(code);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(button);
    lines.insertBefore(item, lines.firstChild);
    enableCopy(item);
  }

  function status(text) {
    var element = document.getElementById("personalise-status");
    if (element) {
      element.textContent = text;
    }
  }

  function busy(form, on) {
    form.setAttribute("aria-busy", on ? "true" : "false");
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) { button.disabled = on; });
  }

  function replaceForm(html) {                     // the server's page with the messages beside the fields
    var page = new DOMParser().parseFromString(html, "text/html");
    var fresh = page.getElementById("personalise-area");
    if (!fresh) {
      throw new Error("no form in the response");
    }
    document.title = page.title;
    area.replaceChildren.apply(area, Array.prototype.slice.call(fresh.childNodes).map(function (node) {
      return document.importNode(node, true);
    }));
    var summary = document.getElementById("error-summary") || document.getElementById("form-failure");
    if (summary) {
      summary.focus();
    }
  }

  function clearErrors(form) {                    // the details were accepted: earlier messages no longer hold
    document.title = document.title.replace(/^Check the form: /, "");
    Array.prototype.forEach.call(area.querySelectorAll("#error-summary, #form-failure, .field .error"),
      function (element) { element.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll(".field.invalid"), function (field) {
      field.classList.remove("invalid");
      var input = field.querySelector("input");
      input.removeAttribute("aria-invalid");
      var hint = field.querySelector(".help");
      if (hint) {
        input.setAttribute("aria-describedby", hint.id);
      } else {
        input.removeAttribute("aria-describedby");
      }
    });
  }

  function send(form, action) {
    var data = new FormData(form);
    data.set("action", action);
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    busy(form, true);
    status(action === "preview" ? "Making the preview…" : "Making the PDF…");
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST", body: data, credentials: "same-origin", cache: "no-store",
      headers: {"X-CSRFToken": token ? token.value : ""}
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.ok && type.indexOf("application/pdf") === 0) {
        var record = response.headers.get("X-Handouts-Record");
        return response.blob().then(function (blob) {
          clearErrors(form);
          if (action === "preview") {
            showPreview(blob);
            status("The preview is shown below the form.");
          } else {
            save(blob, filename(response));
            if (record) {
              addRecord(decodeURIComponent(record));
            }
            status("Downloaded. The line for the patient’s record is under “For the patient’s record”.");
          }
        });
      }
      if (response.status === 400 && type.indexOf("text/html") === 0) {
        return response.text().then(replaceForm);
      }
      if (response.redirected || response.status === 403) {
        status("Your session has ended. Sign in again, then fill in the form again.");
        return null;
      }
      throw new Error("unexpected response " + response.status);
    }).catch(function () {
      status("The form could not be sent. Check the connection and try again.");
    }).then(function () {
      var current = document.getElementById("personalise-form");
      if (current) {
        busy(current, false);
      }
    });
  }

  area.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "personalise-form") {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    returnFocus = submitter || null;
    send(form, submitter && submitter.name === "action" ? submitter.value : "download");
  });

  closeButton.addEventListener("click", function () {
    closePreview();
    if (returnFocus && document.body.contains(returnFocus)) {
      returnFocus.focus();
    }
  });
  window.addEventListener("pagehide", closePreview);
  Array.prototype.forEach.call(lines.querySelectorAll("li"), enableCopy);
}());
