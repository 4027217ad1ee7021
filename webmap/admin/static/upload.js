// The upload form with a progress bar. Without this script the form posts as usual; with it the
// same post goes by XMLHttpRequest so the bytes sent can be shown. The server answers with the
// report page (followed to its address) or the form with its errors (swapped in).

import { say } from "./strings.js";

const STEP = 10; // announce every 10 percent, not every progress event

function setStatus(text) {
  const status = document.getElementById("upload-status");
  if (status) status.textContent = text;
}

function showErrors(html) {
  const next = new DOMParser().parseFromString(html, "text/html");
  const main = next.querySelector("main");
  if (!main) {
    setStatus(say("js.upload_failed"));
    return;
  }
  document.querySelector("main").replaceWith(main);
  document.title = next.title;
  const summary = main.querySelector("[data-focus]") || main.querySelector("h1");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
}

function problemText(xhr) {
  try {
    const problem = JSON.parse(xhr.responseText);
    return problem.detail || problem.title;
  } catch (_) {
    return say("js.server_answered", { status: xhr.status });
  }
}

function send(form) {
  const progress = form.querySelector("#upload-progress");
  const bar = form.querySelector("#upload-bar");
  const button = form.querySelector("button[type=submit]");
  const xhr = new XMLHttpRequest();
  let announced = -STEP;
  form.dataset.busy = "true";
  button.setAttribute("aria-disabled", "true");
  progress.hidden = false;
  bar.value = 0;
  setStatus(say("js.uploading", { percent: 0 }));
  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((event.loaded / event.total) * 100);
    bar.value = percent;
    if (percent - announced >= STEP) {
      announced = percent;
      setStatus(say("js.uploading", { percent }));
    }
  });
  xhr.upload.addEventListener("load", () => {
    bar.removeAttribute("value"); // indeterminate while the server imports
    setStatus(say("js.uploaded"));
  });
  const done = () => {
    delete form.dataset.busy;
    button.removeAttribute("aria-disabled");
  };
  xhr.addEventListener("load", () => {
    const type = xhr.getResponseHeader("Content-Type") || "";
    if (xhr.status < 400 && xhr.responseURL) {
      setStatus(say("js.imported"));
      window.location.assign(xhr.responseURL);
    } else if (type.startsWith("text/html")) {
      done();
      showErrors(xhr.responseText);
    } else {
      done();
      progress.hidden = true;
      setStatus(say("js.upload_failed_because", { reason: problemText(xhr) }));
    }
  });
  xhr.addEventListener("error", () => {
    done();
    progress.hidden = true;
    setStatus(say("js.connection_lost"));
  });
  xhr.open("POST", form.action);
  xhr.send(new FormData(form));
}

// Delegated: the form is replaced when the server sends it back with errors.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-upload]");
  if (!form || !window.FormData) return;
  event.preventDefault();
  if (form.dataset.busy) return;
  send(form);
});
