// The card-testing challenge (templates/support/_challenge.html), on the page of a start
// refused while the alarm is on: the ALTCHA widget fetches a challenge, solves it in a
// worker served from our own origin (the CSP allows no blob: workers), and the form then
// continues by itself; a hosted captcha continues it from its callback. Without this
// script the reader reads the message and tries again later.
import "../vendor/altcha/altcha.min.js";
import "../vendor/altcha/i18n-ru.js";

const box = document.getElementById("challenge");
const form = box && box.closest("form");

if (form) {
  const notice = form.querySelector(".notice");
  if (notice && box.dataset.message) notice.textContent = box.dataset.message;

  const continueForm = () => {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
    form.requestSubmit(button || undefined);
  };
  // hCaptcha, Turnstile and reCAPTCHA call the function their data-callback names
  window.donationsCaptchaSolved = continueForm;

  const widget = box.querySelector("altcha-widget");
  if (widget) {
    const worker = new URL("../vendor/altcha/sha-worker.js", import.meta.url);
    globalThis.$altcha.algorithms.set("SHA-256", () => new Worker(worker));
    widget.addEventListener("verified", (event) => {
      const field = form.querySelector("input[name=altcha]");
      if (field && event.detail && event.detail.payload) field.value = event.detail.payload;
      // once only: a page whose solution was already refused waits for the reader
      if ("autoContinue" in box.dataset) continueForm();
    });
  }
}
