// Staff pages: move focus to an error summary or verdict when a page opens with one, and let
// the summary's links put focus in the field they name.

const focusTarget = document.querySelector("[data-focus]");
if (focusTarget) focusTarget.focus();

document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  const field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  const label = document.querySelector(`label[for="${field.id}"]`);
  (label || field).scrollIntoView({ block: "start" });
  field.focus({ preventScroll: true });
});
