"use strict";
// Modals the bot opened for the current user (GET /_playground/modals), drawn like Discord's dialog in the
// channel they were opened in; Submit sends the text inputs to POST /_playground/modal. Cancel, Esc or a
// click beside the dialog discard it (POST /_playground/modal/close), as Discord's client does: the bot
// is never told, and the modal does not come back on a reload.

const TEXT_INPUT_PARAGRAPH = 2;
// Modals being closed: the server still lists one until its POST returns, so a check meanwhile skips it.
const closingModals = new Set();
let modalSeq = 0;

async function checkModals() {
  if (!state.user) return;
  const seq = ++modalSeq;
  try {
    const modals = await getJSON(`/modals?${new URLSearchParams({ user: state.user })}`);
    if (seq !== modalSeq) return; // a newer check (another channel, user or Cancel) decides
    const next = modals.filter((m) => m.channel === state.channel && !closingModals.has(m.custom_id)).pop();
    if (!next) closeModal();
    else if (openModalId() !== next.custom_id) openModal(next);
  } catch (err) {
    showError(`Could not read the open modals: ${err.message}`);
  }
}

// The bot opened a modal, or one was submitted or closed elsewhere: the server's list decides.
function onModalEvent(event) {
  if (event.user && event.user !== state.user) return;
  checkModals();
}

function openModalId() {
  const form = $("modal-root").querySelector("form");
  return form ? form.dataset.customId : null;
}

function openModal(modal) {
  const fields = (modal.fields || []).map(renderModalField);
  const form = el("form", { class: "modal", "data-testid": "modal", "data-custom-id": modal.custom_id,
    onsubmit: (event) => { event.preventDefault(); submitModal(modal, event.currentTarget); } },
  el("h2", {}, modal.title || "Modal"),
  el("div", { class: "modal-fields" }, fields),
  el("div", { class: "modal-error", "data-testid": "modal-error", role: "alert" }),
  el("div", { class: "modal-actions" },
    el("button", { type: "button", class: "btn cancel", "data-testid": "modal-cancel",
      onclick: () => cancelModal(modal) }, "Cancel"),
    el("button", { type: "submit", class: "btn style-1", "data-testid": "modal-submit" }, "Submit")));
  const root = $("modal-root");
  root.replaceChildren(form);
  root.hidden = false;
  form.querySelector("[data-field-id]")?.focus();
}

function renderModalField(field, index) {
  const id = `modal-field-${index}`;
  const attrs = { id, "data-field-id": field.custom_id, "data-testid": "modal-field",
    placeholder: field.placeholder, required: Boolean(field.required), maxlength: field.max_length,
    minlength: field.min_length };
  const input = field.style === TEXT_INPUT_PARAGRAPH
    ? el("textarea", attrs) : el("input", { type: "text", ...attrs });
  input.value = field.value || "";
  return el("div", {},
    el("label", { for: id }, field.label, field.required ? el("span", { class: "required" }, "*") : null),
    input);
}

async function submitModal(modal, form) {
  const values = {};
  for (const input of form.querySelectorAll("[data-field-id]")) values[input.dataset.fieldId] = input.value;
  const body = { user: state.user, custom_id: modal.custom_id, values, wait: true };
  const result = await postJSON("/modal", body);
  if (result.ok) closeModal();
  else form.querySelector(".modal-error").textContent = result.error;
}

async function cancelModal(modal) {
  closingModals.add(modal.custom_id);
  modalSeq++; // a check already in flight read the list before this Cancel
  closeModal();
  // A modal already gone (submitted in another tab) answers ok: false, which changes nothing here.
  await postJSON("/modal/close", { user: state.user, custom_id: modal.custom_id });
  closingModals.delete(modal.custom_id);
  await checkModals();
}

function cancelOpenModal() {
  const form = $("modal-root").querySelector("form");
  if (form) cancelModal({ custom_id: form.dataset.customId });
}

// Discord closes a modal on Esc and on a click on the dimmed page around it.
function setupModalRoot() {
  const root = $("modal-root");
  root.addEventListener("mousedown", (event) => { if (event.target === root) cancelOpenModal(); });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !root.hidden) {
      event.preventDefault();
      cancelOpenModal();
    }
  });
}

function closeModal() {
  const root = $("modal-root");
  root.replaceChildren();
  root.hidden = true;
}
