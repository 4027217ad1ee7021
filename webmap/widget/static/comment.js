// webmap widget: the consultation comment form, its receipt and the published comments.
// Sends each comment with an Idempotency-Key, so a retry on a flaky network never stores it twice.

const widget = window.webmapWidget;
const { config } = widget;
const MAX_TEXT = 5000;
const RETRIES = 2;
const form = document.getElementById("wm-form");
const published = document.getElementById("wm-published");
const chars = (value) => [...value.trim()].length; // code points, as the server counts

function endpoint() { return `../maps/${encodeURIComponent(config.map)}/comments`; }

// ---------- published comments ----------
async function loadPublished() {
  if (!published) return;
  try {
    const response = await fetch(endpoint(), { headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    published.replaceChildren();
    for (const feature of body.features || []) {
      const item = document.createElement("li");
      const text = document.createElement("p");
      text.textContent = feature.properties.text; // user text: always as text, never as HTML
      const meta = document.createElement("p");
      meta.className = "wm-hint";
      const created = new Date(feature.properties.created);
      meta.textContent = Number.isNaN(created.getTime()) ? "" : created.toLocaleDateString(widget.lang);
      item.append(text, meta);
      const shots = feature.properties.photos || [];
      if (shots.length) {
        const list = document.createElement("ul");
        list.className = "wm-published-photos";
        for (const shot of shots) {
          const entry = document.createElement("li");
          const image = document.createElement("img");
          // the same origin as the comments themselves (the CSP allows only 'self')
          image.src = `${endpoint()}/${encodeURIComponent(feature.properties.id)}/photos/${shot.href.split("/").pop()}`;
          image.alt = shot.alt; // the resident's description, as text
          image.width = shot.width;
          image.height = shot.height;
          image.loading = "lazy";
          entry.append(image);
          list.append(entry);
        }
        item.append(list);
      }
      published.append(item);
    }
    if (!published.children.length) {
      const empty = document.createElement("li");
      empty.textContent = widget.tr("published_none");
      published.append(empty);
    }
  } catch (_) {
    published.replaceChildren();
  }
}

if (form) {
  const text = document.getElementById("wm-text");
  const name = document.getElementById("wm-name");
  const email = document.getElementById("wm-email");
  const notify = document.getElementById("wm-notify");
  const website = document.getElementById("wm-website");
  const send = document.getElementById("wm-send");
  const count = document.getElementById("wm-text-count");
  const errors = document.getElementById("wm-errors");
  const errorList = document.getElementById("wm-error-list");
  const placeText = document.getElementById("wm-form-place");
  const receipt = document.getElementById("wm-receipt");
  const fields = {
    text: { input: text, error: document.getElementById("wm-text-error") },
    name: { input: name, error: document.getElementById("wm-name-error") },
    email: { input: email, error: document.getElementById("wm-email-error") },
    place: { input: null, error: document.getElementById("wm-place-error") },
  };
  // ---------- photos: each with a required description (its alt text) ----------
  const limits = (config.consultation && config.consultation.photos) || { max: 0, maxMb: 0, formats: "" };
  const photoInput = document.getElementById("wm-photo-input");
  const photoList = document.getElementById("wm-photo-list");
  const photoHint = document.getElementById("wm-photo-hint");
  const photos = []; // { file, preview (data: URL), alt }
  if (photoInput) fields.photo = { input: photoInput, error: document.getElementById("wm-photo-error") };

  function renderPhotoHint() {
    if (photoHint) {
      photoHint.textContent = widget.tr("photos_hint", { max: limits.max, mb: limits.maxMb, formats: limits.formats });
    }
  }
  function altField(n) { return `photo_alt[${n}]`; }
  function renderPhotos(focusTarget) {
    if (!photoList) return;
    for (const field of Object.keys(fields)) if (field.startsWith("photo_alt[")) delete fields[field];
    photoList.replaceChildren();
    photos.forEach((photo, index) => {
      const n = index + 1;
      const item = document.createElement("li");
      item.className = "wm-photo-item";
      const image = document.createElement("img");
      image.src = photo.preview;
      image.alt = photo.alt.trim() ? widget.tr("photo_preview", { n, alt: photo.alt.trim() })
        : widget.tr("photo_preview_none", { n });
      const body = document.createElement("div");
      const name = document.createElement("p");
      name.className = "wm-photo-name wm-hint";
      name.textContent = photo.file.name; // the file's own name, as text
      const field = document.createElement("div");
      field.className = "wm-field";
      const label = document.createElement("label");
      label.htmlFor = `wm-photo-alt-${n}`;
      label.textContent = widget.tr("photo_alt", { n });
      const error = document.createElement("p");
      error.className = "wm-error";
      error.id = `wm-photo-alt-${n}-error`;
      error.hidden = true;
      const input = document.createElement("input");
      input.type = "text";
      input.className = "wm-input";
      input.id = `wm-photo-alt-${n}`;
      input.maxLength = 300;
      input.required = true;
      input.value = photo.alt;
      input.addEventListener("input", () => {
        photo.alt = input.value;
        image.alt = photo.alt.trim() ? widget.tr("photo_preview", { n, alt: photo.alt.trim() })
          : widget.tr("photo_preview_none", { n });
        if (photo.alt.trim()) showFieldError(altField(n), null);
      });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "wm-button";
      remove.textContent = widget.tr("photo_remove", { n });
      remove.addEventListener("click", () => {
        photos.splice(index, 1);
        const next = photos.length ? Math.min(index, photos.length - 1) : null;
        renderPhotos(next === null ? photoInput : `wm-photo-remove-${next + 1}`);
        widget.announce(widget.tr("photo_removed", { n }));
      });
      remove.id = `wm-photo-remove-${n}`;
      field.append(label, error, input);
      body.append(name, field, remove);
      item.append(image, body);
      photoList.append(item);
      fields[altField(n)] = { input, error };
    });
    if (focusTarget) {
      const target = typeof focusTarget === "string" ? document.getElementById(focusTarget) : focusTarget;
      if (target) target.focus();
    }
  }
  function readPreview(file) {
    return new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => resolve("");
      reader.readAsDataURL(file);
    });
  }
  function looksLikePicture(file) {
    return (file.type || "").startsWith("image/") || /\.(hei[cf]|jpe?g|png)$/i.test(file.name);
  }
  if (photoInput) {
    photoInput.addEventListener("change", async () => {
      const chosen = [...(photoInput.files || [])];
      photoInput.value = ""; // the same file may be chosen again after removing it
      const problems = [];
      const added = [];
      for (const file of chosen) {
        if (photos.length + added.length >= limits.max) {
          problems.push(widget.tr("error_photo_count", { max: limits.max }));
          break;
        }
        if (!looksLikePicture(file)) {
          problems.push(widget.tr("error_photo_type", { name: file.name, formats: limits.formats }));
        } else if (file.size > limits.maxMb * 1024 * 1024) {
          problems.push(widget.tr("error_photo_size", { name: file.name, mb: limits.maxMb }));
        } else {
          added.push({ file, preview: await readPreview(file), alt: "" });
        }
      }
      const first = photos.length + 1;
      photos.push(...added);
      showFieldError("photo", problems.length ? problems.join(" ") : null);
      renderPhotos(added.length ? `wm-photo-alt-${first}` : null);
      const said = added.map((photo, i) => widget.tr("photo_added", { n: first + i, name: photo.file.name }));
      if (said.length || problems.length) widget.announce([...problems, ...said].join(" "));
    });
  }

  let key = null; // the idempotency key of the comment being sent
  let keyFor = null; // what it was made for: a changed comment gets a new key
  let sending = false;

  // ---------- character counter (announced politely, after a pause) ----------
  let countTimer = null;
  function renderCount(immediate) {
    const left = MAX_TEXT - chars(text.value);
    const message = left >= 0 ? widget.tr("comment_count", { count: left })
      : widget.tr("comment_count_over", { count: -left });
    clearTimeout(countTimer);
    if (immediate) count.textContent = message;
    else countTimer = setTimeout(() => { count.textContent = message; }, 700);
  }
  text.addEventListener("input", () => renderCount(false));

  function placeDescription() {
    return widget.chosen ? widget.tr("comment_place", { place: widget.chosenText() })
      : widget.tr("comment_place_none");
  }
  function renderPlace() { placeText.textContent = placeDescription(); }
  document.addEventListener("webmap:chosen", () => {
    renderPlace();
    if (widget.chosen) showFieldError("place", null);
  });
  document.addEventListener("webmap:language", () => {
    renderPlace();
    renderCount(true);
    renderPhotoHint();
    renderPhotos(null);
    loadPublished();
  });

  // ---------- errors: a summary with links, each message tied to its field ----------
  function showFieldError(field, message) {
    const entry = fields[field];
    entry.error.textContent = message || "";
    entry.error.hidden = !message;
    if (entry.input) {
      if (message) {
        entry.input.setAttribute("aria-invalid", "true");
        const ids = new Set((entry.input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
        ids.add(entry.error.id);
        entry.input.setAttribute("aria-describedby", [...ids].join(" "));
      } else {
        entry.input.removeAttribute("aria-invalid");
        const ids = (entry.input.getAttribute("aria-describedby") || "").split(" ")
          .filter((id) => id && id !== entry.error.id);
        entry.input.setAttribute("aria-describedby", ids.join(" "));
      }
    }
  }
  function showErrors(list) {
    for (const field of Object.keys(fields)) showFieldError(field, null);
    errorList.replaceChildren();
    for (const { field, message } of list) {
      if (fields[field]) showFieldError(field, message);
      const item = document.createElement("li");
      const link = document.createElement("a");
      const target = fields[field] && fields[field].input ? fields[field].input
        : document.querySelector('[data-action="choose-centre"]:not([hidden])') || document.getElementById("wm-search-input")
          || document.getElementById("wm-features");
      link.href = `#${target ? target.id || "wm-features" : "wm-features"}`;
      link.textContent = message;
      link.addEventListener("click", (event) => {
        if (!target) return;
        event.preventDefault();
        target.focus();
      });
      item.append(link);
      errorList.append(item);
    }
    errors.hidden = list.length === 0;
    if (list.length) {
      errors.focus();
      widget.announce(list.map((e) => e.message).join(" "));
    }
  }
  function fieldOf(problemField) {
    if (problemField === "geometry" || (problemField || "").startsWith("feature")) return "place";
    if (/^photo\[\d\]$/.test(problemField || "") && fields.photo) return "photo";
    return fields[problemField] ? problemField : null;
  }
  function messageFor(field, problemField) {
    const photoNumber = /\[(\d)\]$/.exec(problemField || field || "");
    if (field.startsWith("photo_alt[")) return widget.tr("error_photo_alt", { n: photoNumber ? photoNumber[1] : "" });
    if (field === "photo") {
      if (!photoNumber) return widget.tr("error_photo_count", { max: limits.max });
      return widget.tr("error_photo_bad", { n: photoNumber[1], mb: limits.maxMb, formats: limits.formats });
    }
    switch (field) {
      case "text": return chars(text.value) ? widget.tr("error_text_long") : widget.tr("error_text_empty");
      case "email": return widget.tr("error_email");
      case "name": return widget.tr("error_name");
      case "place": return widget.tr("error_place");
      default: return null;
    }
  }

  function validate() {
    const problems = [];
    if (!widget.chosen) problems.push({ field: "place", message: widget.tr("error_place") });
    const length = chars(text.value);
    if (length === 0 || length > MAX_TEXT) problems.push({ field: "text", message: messageFor("text") });
    if (chars(name.value) > 200) problems.push({ field: "name", message: widget.tr("error_name") });
    const mail = email.value.trim();
    if (mail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mail)) {
      problems.push({ field: "email", message: widget.tr("error_email") });
    } else if (!mail && notify && notify.checked) {
      problems.push({ field: "email", message: widget.tr("error_notify_email") });
    }
    photos.forEach((photo, index) => {
      if (!photo.alt.trim()) {
        problems.push({ field: altField(index + 1), message: widget.tr("error_photo_alt", { n: index + 1 }) });
      }
    });
    return problems;
  }

  function payload() {
    const chosen = widget.chosen;
    const body = { text: text.value, language: widget.lang };
    const allows = (kind) => config.consultation.geometry.includes(kind);
    if (chosen.kind === "feature") {
      body.feature = { collection: chosen.entry.source.layer, id: chosen.entry.feature.id };
    } else {
      body.geometry = chosen.geometry;
      if (chosen.entry && allows("feature")) {
        body.feature = { collection: chosen.entry.source.layer, id: chosen.entry.feature.id };
      }
    }
    if (name.value.trim()) body.name = name.value;
    if (email.value.trim()) body.email = email.value.trim();
    if (notify && notify.checked) body.notify = true;
    if (website.value) body.website = website.value;
    return body;
  }

  async function post(body) {
    let lastError = null;
    for (let attempt = 0; attempt <= RETRIES; attempt += 1) {
      try {
        let request;
        if (photos.length) {
          const data = new FormData(); // multipart: the browser sets the boundary
          data.append("comment", JSON.stringify(body));
          for (const photo of photos) {
            data.append("photo", photo.file, photo.file.name);
            data.append("photo_alt", photo.alt.trim());
          }
          request = { method: "POST", headers: { Accept: "application/json", "Idempotency-Key": key }, body: data };
        } else {
          request = {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": key },
            body: JSON.stringify(body),
          };
        }
        const response = await fetch(endpoint(), request);
        if (response.status >= 500 && attempt < RETRIES) { lastError = new Error(`HTTP ${response.status}`); continue; }
        return response;
      } catch (error) {
        lastError = error; // the network failed: the same key makes the retry safe
      }
      await new Promise((resolve) => { setTimeout(resolve, 400 * (attempt + 1)); });
    }
    throw lastError;
  }

  function showReceipt(id) {
    form.hidden = true;
    errors.hidden = true;
    document.getElementById("wm-receipt-id").textContent = id;
    receipt.hidden = false;
    document.getElementById("wm-receipt-heading").focus();
    widget.post({ type: "comment-submitted", id });
    key = null;
    keyFor = null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const problems = validate();
    if (problems.length) { showErrors(problems); return; }
    const body = payload();
    const signature = JSON.stringify([body, photos.map((p) => [p.file.name, p.file.size, p.file.lastModified, p.alt.trim()])]);
    if (!key || keyFor !== signature) {
      key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      keyFor = signature;
    }
    sending = true;
    send.setAttribute("aria-disabled", "true");
    widget.announce(widget.tr("comment_sending"));
    try {
      const response = await post(body);
      const answer = await response.json().catch(() => ({}));
      if (response.status === 201 || response.status === 200) {
        showReceipt(answer.id);
      } else if (response.status === 422) {
        const field = fieldOf(answer.field);
        const message = (field && messageFor(field, answer.field)) || widget.tr("error_other", { detail: answer.detail || "" });
        showErrors([{ field: field || "text", message }]);
      } else if (response.status === 409) {
        showErrors([{ field: "place", message: widget.tr("error_closed") }]);
      } else if (response.status === 429) {
        const seconds = Number(response.headers.get("Retry-After")) || 60;
        showErrors([{ field: "text", message: widget.tr("error_rate", { minutes: Math.max(1, Math.ceil(seconds / 60)) }) }]);
      } else {
        showErrors([{ field: "text", message: widget.tr("error_other", { detail: answer.detail || response.status }) }]);
      }
    } catch (_) {
      showErrors([{ field: "text", message: widget.tr("error_network") }]);
    } finally {
      sending = false;
      send.removeAttribute("aria-disabled");
    }
  });

  document.getElementById("wm-another").addEventListener("click", () => {
    form.reset();
    photos.splice(0, photos.length);
    renderPhotos(null);
    receipt.hidden = true;
    form.hidden = false;
    for (const field of Object.keys(fields)) showFieldError(field, null);
    renderCount(true);
    text.focus();
  });

  renderCount(true);
  renderPlace();
  renderPhotoHint();
}
loadPublished();
