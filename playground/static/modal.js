"use strict";
// Modals the bot opened for the current user (GET /_playground/modals), drawn like Discord's dialog;
// Submit sends the text inputs to POST /_playground/modal. Cancel only closes it, as in Discord,
// where the bot is never told.

const TEXT_INPUT_PARAGRAPH = 2;
const dismissedModals = new Set();

async function checkModals() {
  if (!state.user) return;
  try {
    const modals = await getJSON(`/modals?${new URLSearchParams({ user: state.user })}`);
    const next = modals.filter((m) => !dismissedModals.has(m.custom_id)).pop();
    if (!next) closeModal();
    else if (openModalId() !== next.custom_id) openModal(next);
  } catch (err) {
    showError(`Could not read the open modals: ${err.message}`);
  }
}

// A fresh "modal" event means the bot (re)opened one, so an earlier Cancel no longer hides it.
function onModalEvent(event) {
  if (event.user && event.user !== state.user) return;
  const customId = event.modal?.custom_id ?? event.custom_id;
  if (customId) dismissedModals.delete(customId);
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
    el("button", { type: "button", class: "btn cancel", onclick: () => cancelModal(modal) }, "Cancel"),
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

function cancelModal(modal) {
  dismissedModals.add(modal.custom_id);
  closeModal();
}

function closeModal() {
  const root = $("modal-root");
  root.replaceChildren();
  root.hidden = true;
}
