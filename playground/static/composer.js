"use strict";
// The command box: "/" opens Discord's command picker, then option hints and autocomplete; Enter sends
// the line to POST /_playground/slash as the selected user in the selected channel.

const MAX_POPUP_ITEMS = 25; // Discord shows at most 25 autocomplete choices.

const visibleEntries = () => flattenCommands((state.world && state.world.commands) || []);

function setupComposer() {
  const input = $("command-input");
  input.addEventListener("input", refreshPopup);
  input.addEventListener("keydown", onComposerKey);
  input.addEventListener("blur", hidePopup);
  $("command-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendCommand();
  });
}

async function refreshPopup() {
  // Opening the picker fetches the command list again, as Discord's client does: the bot may have
  // synced new commands since the page loaded.
  if ($("command-input").value === "/") await loadWorld().catch(() => null);
  const line = $("command-input").value;
  const cursor = describeCursor(line, visibleEntries());
  if (!cursor || cursor.kind === "done") return hidePopup();
  if (cursor.kind === "command") return showPopup(commandItems(cursor.typed), 0);
  if (cursor.kind === "option-name") return showPopup(optionNameItems(cursor), optionPreselect(cursor));
  const seq = ++state.autocompleteSeq;
  const items = await valueItems(cursor);
  // The file picker is the only thing to do on an attachment option, so Enter should open it.
  const selected = items.length && items[0].pick ? 0 : -1;
  // A slower answer for an older keystroke must not replace a newer popup.
  if (seq === state.autocompleteSeq && $("command-input").value === line) showPopup(items, selected);
}

function commandItems(typed) {
  const prefix = typed.toLowerCase();
  return visibleEntries().filter((e) => e.path.startsWith(prefix)).slice(0, MAX_POPUP_ITEMS)
    .map((e) => ({ label: `/${e.path}`, description: e.description, start: 0, text: `/${e.path} ` }));
}

function optionNameItems(cursor) {
  const options = cursor.entry.options
    .filter((o) => !cursor.used.has(o.name) && o.name.startsWith(cursor.typed));
  if (options.length === 0) return [];
  return [{ heading: true, label: `/${cursor.entry.path}`, description: cursor.entry.description },
    ...options.map((o) => ({ label: `${o.name}:`, start: cursor.start, text: `${o.name}:`,
      description: `${o.required ? "(required) " : ""}${o.description || ""}` }))];
}

// While the line cannot be sent yet (a required option missing, a first option name half typed),
// the first option is selected, as in Discord, so Enter picks it instead of sending a refused command.
// Otherwise Enter sends: the options left are optional.
function optionPreselect(cursor) {
  const missing = cursor.entry.options.some((o) => o.required && !cursor.used.has(o.name));
  return missing || (cursor.typed && cursor.used.size === 0) ? 1 : -1; // item 0 is the heading
}

async function valueItems(cursor) {
  const { entry, option, value, start } = cursor;
  const typed = value.trim();
  const toItem = (choice) => ({ label: choice.name, description: "", start, text: String(choice.value) });
  if (option.type === OPTION.ATTACHMENT) {
    if (state.uploads[option.name]?.filename === typed) return []; // already chosen: Enter sends
    return [{ label: "📎 Choose a file…", description: option.description || "", start,
      pick: option.name }];
  }
  if (option.choices && option.choices.length) {
    const lower = typed.toLowerCase();
    return option.choices.filter((c) => c.name.toLowerCase().includes(lower)).map(toItem);
  }
  if (option.autocomplete) {
    const query = new URLSearchParams({ user: state.user, channel: state.channel, command: entry.path,
      option: option.name, value: typed });
    const failed = (why) => [{ heading: true, label: option.name, description: `Autocomplete failed: ${why}` }];
    try {
      // A bot that does not answer in time is an answer too: {choices: [], error}.
      const answer = await getJSON(`/autocomplete?${query}`);
      if (answer.error) return failed(answer.error);
      return (answer.choices || []).slice(0, MAX_POPUP_ITEMS).map(toItem);
    } catch (err) {
      return failed(err.message);
    }
  }
  if (typed) return [];
  return [{ heading: true, label: option.name, description: `${option.required ? "(required) " : ""}`
    + `${option.description || ""}` }];
}

function showPopup(items, selected = -1) {
  const popup = $("command-popup");
  if (!items.length) return hidePopup();
  state.popup = { items, index: items[selected] && !items[selected].heading ? selected : -1 };
  popup.replaceChildren(...items.map((item, i) => el("li", {
    class: item.heading ? "popup-heading" : (i === state.popup.index ? "selected" : null),
    role: item.heading ? null : "option", "data-testid": item.heading ? "popup-heading" : "popup-item",
    // mousedown (not click) so the input keeps focus and its blur does not close the popup first.
    onmousedown: item.heading ? null : (event) => { event.preventDefault(); applyItem(item); },
  },
  el("span", { class: "popup-name" }, item.label),
  el("span", { class: "popup-desc" }, item.description))));
  popup.hidden = false;
  popup.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
}

function hidePopup() {
  $("command-popup").hidden = true;
  state.popup = { items: [], index: -1 };
}

// Attachment options: the file is read here and sent inline as base64 with the command.
function pickFile(item) {
  const chooser = $("file-input");
  chooser.value = "";
  chooser.onchange = () => {
    const file = chooser.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      const base64 = String(reader.result).split(",")[1] || ""; // drop the "data:...;base64," head
      state.uploads[item.pick] = { filename: file.name, content_base64: base64 };
      applyItem({ ...item, pick: null, text: file.name });
    };
    reader.readAsDataURL(file);
  };
  chooser.click();
}

const lineWith = (item) => {
  const line = $("command-input").value;
  const head = line.slice(0, item.start);
  const gap = head && !/[\s:]$/.test(head) ? " " : "";
  return head + gap + item.text;
};

function applyItem(item) {
  if (item.pick) return pickFile(item);
  const input = $("command-input");
  input.value = lineWith(item);
  input.focus();
  refreshPopup();
}

function moveSelection(step) {
  const { items, index } = state.popup;
  const selectable = items.map((item, i) => (item.heading ? -1 : i)).filter((i) => i >= 0);
  if (!selectable.length) return;
  const at = selectable.indexOf(index);
  const next = selectable[(at + step + selectable.length) % selectable.length] ?? selectable[0];
  showPopup(items, at === -1 && step < 0 ? selectable[selectable.length - 1] : next);
}

function onComposerKey(event) {
  const open = !$("command-popup").hidden;
  const { items, index } = state.popup;
  const chosen = items[index] || items.find((item) => !item.heading);
  if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    moveSelection(event.key === "ArrowDown" ? 1 : -1);
  } else if (open && event.key === "Tab" && chosen) {
    event.preventDefault();
    applyItem(chosen);
  } else if (open && event.key === "Enter" && items[index]
    && (items[index].pick || lineWith(items[index]) !== event.target.value)) {
    event.preventDefault();
    applyItem(items[index]);
  } else if (event.key === "Escape") {
    hidePopup();
  }
}

async function sendCommand() {
  const input = $("command-input");
  const line = input.value.trim();
  if (!line) return;
  if (!line.startsWith("/")) {
    showError("The playground sends slash commands only: start with /, e.g. /imagine a red fox");
    return;
  }
  const request = await slashRequestFor(line);
  if (!request) return;
  hidePopup();
  input.disabled = true;
  const body = { user: state.user, channel: state.channel, ...request, wait: true };
  const result = await postJSON("/slash", body);
  input.disabled = false;
  input.focus();
  if (!result.ok) {
    showError(result.error);
    return;
  }
  clearError();
  input.value = "";
  state.uploads = {};
}

// Parses the line; an unknown command may only mean the bot synced after the page loaded, so the
// command list is fetched once more before the error is shown.
async function slashRequestFor(line) {
  try {
    return buildSlashRequest(line, visibleEntries(), state.uploads);
  } catch (first) {
    if (!first.message.startsWith("Unknown command")) return showError(first.message);
    await loadWorld().catch(() => null);
    try {
      return buildSlashRequest(line, visibleEntries(), state.uploads);
    } catch (err) {
      return showError(err.message);
    }
  }
}
