"use strict";
// The Midway playground page: one Discord-like channel view over the emulator's HTTP driver API
// (/_playground/...). Plain DOM code on purpose: no framework, no build step, no network beyond this host.

const API = "/_playground";
const FLAG_EPHEMERAL = 64;
const FLAG_LOADING = 128; // Discord sets this on a deferred response: the client shows "is thinking…".
const COMPONENT_STRING_SELECT = 3;

const state = {
  world: null, channel: null, user: null, messages: new Map(), dismissed: new Set(),
  popup: { items: [], index: -1 }, source: null, pending: null, loadSeq: 0, uploads: {}, stick: true,
  autocompleteSeq: 0, errorTimer: null,
};
const $ = (id) => document.getElementById(id);

// ---- small DOM and HTTP helpers ----------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// Discord ids are 64-bit snowflakes, beyond a JS number's exact range: an id that arrives as a JSON
// number is kept as its source text, so the id sent back (e.g. a clicked message) is the same one.
function parseJSON(text) {
  return JSON.parse(text, (key, value, context) => (
    typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) && context
      ? context.source : value));
}

async function getJSON(path) {
  const response = await fetch(API + path);
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
  return parseJSON(await response.text());
}

// POSTs answer {ok, error?}; a non-JSON failure is turned into the same shape so callers have one path.
async function postJSON(path, body) {
  try {
    const response = await fetch(API + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.text().then(parseJSON).catch(() => ({}));
    if (data.ok === undefined) data.ok = response.ok;
    if (!data.ok && !data.error) data.error = `HTTP ${response.status}`;
    return data;
  } catch (err) {
    return { ok: false, error: `The playground did not answer (${err.message})` };
  }
}

function showError(text) {
  const bar = $("error-bar");
  bar.textContent = text;
  bar.hidden = false;
  clearTimeout(state.errorTimer);
  state.errorTimer = setTimeout(clearError, 15000);
}

function clearError() {
  $("error-bar").hidden = true;
  $("error-bar").textContent = "";
}

// ---- world: guilds, channels, users ------------------------------------------------------------

const currentUser = () => state.world.users.find((u) => u.name === state.user) || { name: state.user };

function userName(id) {
  const known = [...state.world.users, state.world.bot].find((u) => u && String(u.id) === String(id));
  if (known) return known.name;
  const author = [...state.messages.values()].map((m) => m.author).find((a) => String(a.id) === String(id));
  return author ? author.name : "unknown-user";
}

function channelMatches(channel) {
  if (channel === null || channel === undefined) return false;
  const current = findChannel(state.channel);
  return channel === state.channel || (current && String(current.id) === String(channel));
}

const findChannel = (name) => state.world.guilds.flatMap((g) => g.channels).find((c) => c.name === name);

// The command list comes filtered for the user: Discord's picker hides commands they may not use.
async function loadWorld() {
  state.world = await getJSON(state.user ? `/state?${new URLSearchParams({ user: state.user })}` : "/state");
  renderWorld();
}

function renderWorld() {
  const { guilds, users } = state.world;
  $("guild-name").textContent = guilds.length ? guilds[0].name : "No server";
  const list = $("channel-list");
  list.replaceChildren(...guilds.flatMap((guild) => guild.channels.map((channel) => el("li", {},
    el("button", { "data-channel": channel.name, "data-testid": "channel",
      class: channel.name === state.channel ? "active" : null,
      onclick: () => { showSidebar(false); selectChannel(channel.name); } },
    channel.nsfw ? `${channel.name} 🔞` : channel.name)))));
  const select = $("user-select");
  select.replaceChildren(...users.map((u) => el("option", { value: u.name, selected: u.name === state.user },
    u.admin ? `${u.name} (admin)` : u.name)));
}

async function selectChannel(name) {
  state.channel = name;
  $("channel-name").textContent = name;
  $("command-input").placeholder = `Message #${name} — type / for commands`;
  for (const button of document.querySelectorAll("#channel-list button")) {
    button.classList.toggle("active", button.dataset.channel === name);
  }
  // A modal shows in the channel it was opened in only.
  await Promise.all([loadMessages(), checkModals()]);
}

async function selectUser(name) {
  state.user = name;
  $("user-avatar").textContent = initial(name);
  $("user-select").value = name;
  state.dismissed.clear();
  closeModal();
  await Promise.all([loadWorld().catch((err) => showError(err.message)), loadMessages(), checkModals()]);
}

// ---- messages -----------------------------------------------------------------------------------

const initial = (name) => (name || "?").trim().charAt(0).toUpperCase() || "?";

async function loadMessages() {
  if (!state.channel || !state.user) return;
  const query = new URLSearchParams({ channel: state.channel, user: state.user });
  // Only the newest load may draw (a quick channel or user switch starts another); live events that
  // arrive meanwhile are replayed on top of its snapshot, so none is lost.
  const seq = ++state.loadSeq;
  state.pending = state.pending || [];
  try {
    const messages = await getJSON(`/messages?${query}`);
    if (seq !== state.loadSeq) return;
    state.messages.clear();
    $("messages").replaceChildren();
    messages.forEach(upsertMessage);
    scrollToBottom();
  } catch (err) {
    if (seq === state.loadSeq) showError(`Could not load #${state.channel}: ${err.message}`);
  }
  if (seq !== state.loadSeq) return;
  const pending = state.pending || [];
  state.pending = null;
  pending.forEach(handleLiveEvent);
}

// Ephemeral messages belong to one user; the live stream carries everyone's, so filter here too.
function visibleToCurrentUser(msg) {
  if (msg.ephemeral_for === null || msg.ephemeral_for === undefined) return true;
  const user = currentUser();
  return String(msg.ephemeral_for) === String(user.id) || msg.ephemeral_for === user.name;
}

function upsertMessage(msg) {
  if (!visibleToCurrentUser(msg) || state.dismissed.has(msg.id)) return;
  state.messages.set(msg.id, msg);
  const node = renderMessage(msg);
  const old = findMessageNode(msg.id);
  if (old) old.replaceWith(node);
  else $("messages").append(node);
  redrawReplies(msg.id);
  if (state.stick) scrollToBottom();
}

function removeMessage(id) {
  state.messages.delete(id);
  const node = findMessageNode(id);
  if (node) node.remove();
  redrawReplies(id);
}

// A reply quotes its parent's current text, so an edit (or deletion) of the parent redraws the quote.
function redrawReplies(parentId) {
  for (const reply of state.messages.values()) {
    if (reply.reference === null || reply.reference === undefined) continue;
    const refId = typeof reply.reference === "object" ? reply.reference.message_id : reply.reference;
    if (String(refId) !== String(parentId)) continue;
    const quote = findMessageNode(reply.id)?.querySelector(":scope > .message-body > .reference");
    const fresh = renderReference(reply);
    if (quote && fresh) quote.replaceWith(fresh);
  }
}

const findMessageNode = (id) => document.querySelector(`[data-message-id="${CSS.escape(String(id))}"]`);

function scrollToBottom() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function isEphemeral(msg) {
  return Boolean(msg.ephemeral_for) || ((msg.flags || 0) & FLAG_EPHEMERAL) !== 0;
}

function renderMessage(msg) {
  const author = msg.author || { name: "unknown" };
  const body = el("div", { class: "message-body" },
    renderReference(msg),
    el("div", { class: "message-header" },
      el("span", { class: "author-name", "data-testid": "author" }, author.name),
      author.bot ? el("span", { class: "bot-tag" }, "BOT") : null,
      el("time", { class: "timestamp", datetime: msg.timestamp }, formatTimestamp(msg.timestamp))),
    renderContent(msg),
    renderAttachments((msg.attachments || []).filter((a) => !embedShows(msg, a))),
    (msg.embeds || []).map((embed) => renderEmbed(embed, msg.attachments || [])),
    (msg.components || []).map((row) => renderRow(msg, row)),
    isEphemeral(msg) ? renderEphemeralNote(msg) : null);
  return el("article", { class: isEphemeral(msg) ? "message ephemeral" : "message",
    "data-message-id": msg.id, "data-testid": "message" },
  el("div", { class: "avatar", style: `background: ${avatarColor(author.id)}`, "aria-hidden": "true" },
    initial(author.name)),
  body);
}

// Discord's default avatars: one of five colours picked from the user id.
const AVATAR_COLORS = ["#5865f2", "#757e8a", "#3ba55c", "#faa61a", "#ed4245"];
const avatarColor = (id) => AVATAR_COLORS[Number(String(id || "0").slice(-4)) % AVATAR_COLORS.length];

// An embed may show one of the message's own files ("attachment://grid.png"); Discord then shows
// that file only inside the embed.
function attachmentUrl(url, attachments) {
  if (!url || !url.startsWith("attachment://")) return url;
  const file = attachments.find((a) => a.filename === url.slice("attachment://".length));
  return file ? file.url : null;
}

function embedShows(msg, attachment) {
  const ref = `attachment://${attachment.filename}`;
  return (msg.embeds || []).some((e) => e.image?.url === ref || e.thumbnail?.url === ref);
}

// Discord shows the replied-to message above the reply; interaction responses show "X used /cmd".
function renderReference(msg) {
  const meta = msg.interaction_metadata || msg.interaction;
  if (meta && meta.name) {
    const who = meta.user ? meta.user.name || meta.user.username : "someone";
    return el("div", { class: "reference", "data-testid": "reference" }, `${who} used /${meta.name}`);
  }
  const ref = msg.reference;
  const refId = ref && typeof ref === "object" ? ref.message_id : ref;
  if (!refId) return null;
  const parent = state.messages.get(refId) || state.messages.get(String(refId));
  const attrs = { class: "reference", "data-testid": "reference" };
  if (!parent) return el("div", attrs, "Original message was deleted");
  const text = parent.content || (parent.attachments?.length ? "Click to see attachment" : "");
  return el("div", { ...attrs, title: "Jump to the original message",
    onclick: () => findMessageNode(refId)?.scrollIntoView({ block: "center" }) },
  el("span", { class: "ref-author" }, `@${parent.author?.name || "unknown"}`),
  stripMarkdown(text, userName).slice(0, 100));
}

function renderContent(msg) {
  const loading = (msg.loading || ((msg.flags || 0) & FLAG_LOADING) !== 0) && !msg.content;
  const author = msg.author?.name || "The bot";
  if (loading) return el("div", { class: "content thinking" }, `${author} is thinking…`);
  if (!msg.content) return null;
  const html = renderMarkdown(msg.content, userName);
  return el("div", { class: "content", "data-testid": "content", html },
    msg.edited_timestamp ? el("span", { class: "edited", title: msg.edited_timestamp }, "(edited)") : null);
}

function isImage(attachment) {
  return (attachment.content_type || "").startsWith("image/")
    || /\.(png|jpe?g|gif|webp)$/i.test(attachment.filename);
}

// Discord blurs a `SPOILER_` file until it is clicked; the first click here reveals it, as there.
const isSpoiler = (attachment) => attachment.filename.startsWith("SPOILER_");

function reveal(event) {
  const link = event.currentTarget;
  if (link.classList.contains("spoiler")) {
    event.preventDefault();
    link.classList.remove("spoiler");
  }
}

function renderAttachments(attachments) {
  if (!attachments.length) return null;
  return el("div", { class: "attachments" }, attachments.map((a) => isImage(a)
    ? el("a", { href: a.url, target: "_blank", rel: "noopener", class: isSpoiler(a) ? "spoiler" : null,
      onclick: isSpoiler(a) ? reveal : null },
      el("img", { src: a.url, alt: a.filename, width: a.width, height: a.height, "data-testid": "attachment",
        onload: () => state.stick && scrollToBottom() }))
    : el("a", { class: "file-attachment", href: a.url, download: a.filename, "data-testid": "attachment" },
      `📄 ${a.filename}`)));
}

function renderEmbed(embed, attachments) {
  const color = embed.color === null || embed.color === undefined
    ? null : `#${Number(embed.color).toString(16).padStart(6, "0")}`;
  const fields = (embed.fields || []).map((f) => el("div",
    { class: f.inline ? "embed-field inline" : "embed-field" },
    el("div", { class: "embed-field-name", html: renderMarkdown(f.name || "", userName) }),
    el("div", { html: renderMarkdown(f.value || "", userName) })));
  const imageUrl = attachmentUrl(embed.image && (embed.image.proxy_url || embed.image.url), attachments);
  const thumb = embed.thumbnail;
  const thumbUrl = attachmentUrl(thumb && (thumb.proxy_url || thumb.url), attachments);
  const style = color ? `border-left-color: ${color}` : null;
  return el("div", { class: "embed", "data-testid": "embed", style },
    el("div", { class: "embed-inner" },
      embed.author?.name ? el("div", { class: "embed-author" }, embed.author.name) : null,
      embed.title ? el("div", { class: "embed-title" }, embed.title) : null,
      embed.description
        ? el("div", { class: "embed-description", html: renderMarkdown(embed.description, userName) }) : null,
      fields.length ? el("div", { class: "embed-fields" }, fields) : null,
      imageUrl ? el("img", { src: imageUrl, alt: "", "data-testid": "embed-image" }) : null,
      embed.footer?.text ? el("div", { class: "embed-footer" }, embed.footer.text) : null),
    thumbUrl ? el("img", { class: "embed-thumbnail", src: thumbUrl, alt: "" }) : null);
}

function renderRow(msg, row) {
  const components = Array.isArray(row) ? row : row.components || [];
  return el("div", { class: "component-row" },
    components.map((c) => (c.type === COMPONENT_STRING_SELECT
      ? renderSelect(msg, c) : renderButton(msg, c))));
}

function emojiText(emoji) {
  if (!emoji) return null;
  return typeof emoji === "string" ? emoji : emoji.name || null;
}

function renderButton(msg, button) {
  const style = button.style || 2;
  const content = [emojiText(button.emoji) ? el("span", { class: "emoji" }, emojiText(button.emoji)) : null,
    button.label ? el("span", {}, button.label) : null];
  if (style === 5 && button.url) {
    return el("a", { class: "btn style-5", href: button.url, target: "_blank", rel: "noopener" }, content);
  }
  return el("button", { class: `btn style-${style}`, type: "button", disabled: Boolean(button.disabled),
    "data-custom-id": button.custom_id, "data-testid": "button",
    onclick: (event) => clickButton(msg, button, event.currentTarget) }, content);
}

function renderSelect(msg, menu) {
  const options = (menu.options || [])
    .map((o) => el("option", { value: o.value, selected: o.default }, o.label));
  const pick = (event) => clickButton(msg, menu, event.currentTarget, [event.target.value]);
  return el("select", { class: "select-menu", disabled: Boolean(menu.disabled),
    "data-custom-id": menu.custom_id, "data-testid": "select", onchange: pick },
  el("option", { value: "", disabled: true, selected: !(menu.options || []).some((o) => o.default) },
    menu.placeholder || "Make a selection"), options);
}

// "wait" makes the driver report a bot that never acknowledged, which Discord shows as a failure.
async function clickButton(msg, component, node, values = undefined) {
  node.classList.add("pending");
  node.disabled = true;
  const result = await postJSON("/click", {
    user: state.user, message_id: msg.id, custom_id: component.custom_id, values, wait: true,
  });
  node.classList.remove("pending");
  node.disabled = Boolean(component.disabled);
  if (result.ok) clearError();
  else showError(`This interaction failed: ${result.error}`);
}

// Dismissing tells the playground too, so the message stays gone after a reload or a user switch.
function renderEphemeralNote(msg) {
  const dismiss = () => {
    state.dismissed.add(msg.id);
    removeMessage(msg.id);
    postJSON("/dismiss", { user: state.user, message_id: msg.id });
  };
  return el("div", { class: "ephemeral-note", "data-testid": "ephemeral-note" }, "Only you can see this • ",
    el("button", { type: "button", "data-testid": "dismiss", onclick: dismiss }, "Dismiss message"));
}

// On a narrow screen the channel list opens over the chat (as in Discord's mobile app) instead of
// taking a fixed share of the width; style.css hides it there until the ☰ button opens it.
function showSidebar(open) {
  document.body.classList.toggle("sidebar-open", open);
  $("sidebar-toggle").setAttribute("aria-expanded", String(open));
}

// ---- live updates (Server-Sent Events) ----------------------------------------------------------

function connectLive() {
  const source = new EventSource(`${API}/live`);
  state.source = source;
  source.onopen = () => {
    setLive(true);
    if (state.resyncOnOpen) resync();
    state.resyncOnOpen = false;
  };
  source.onmessage = (event) => {
    try {
      handleLiveEvent(parseJSON(event.data));
    } catch (err) {
      console.error("bad live event", event.data, err);
    }
  };
  source.onerror = () => {
    setLive(false);
    state.resyncOnOpen = true;
    // The browser retries by itself while CONNECTING; a CLOSED stream (e.g. a server restart that
    // answered with an error) has to be replaced.
    if (source.readyState === EventSource.CLOSED) setTimeout(connectLive, 2000);
  };
}

function setLive(on) {
  const dot = $("live-status");
  dot.classList.toggle("on", on);
  dot.title = on ? "Live updates connected" : "Live updates disconnected, reconnecting…";
  document.body.dataset.live = on ? "on" : "off";
}

// Events missed while disconnected are recovered by reloading everything the page shows.
async function resync() {
  await loadWorld().catch((err) => showError(`Could not reload the server: ${err.message}`));
  await Promise.all([loadMessages(), checkModals()]);
}

function handleLiveEvent(event) {
  if (state.pending && event.type !== "state" && event.type !== "modal") {
    state.pending.push(event);
    return;
  }
  if (event.type === "message" && channelMatches(event.channel)) upsertMessage(event.message);
  else if (event.type === "message_delete" && channelMatches(event.channel)) {
    removeMessage(event.message?.id ?? event.message_id);
  } else if (event.type === "modal") onModalEvent(event);
  else if (event.type === "state") loadWorld().catch(() => null);
}

// ---- start-up -----------------------------------------------------------------------------------

async function init() {
  try {
    await loadWorld();
  } catch (err) {
    showError(`Waiting for the playground: ${err.message}`);
    setTimeout(init, 2000);
    return;
  }
  const params = new URLSearchParams(window.location.search);
  const users = state.world.users;
  const channels = state.world.guilds.flatMap((g) => g.channels);
  state.user = params.get("user") || (users.find((u) => u.admin) || users[0] || {}).name;
  state.channel = params.get("channel") || (channels[0] || {}).name;
  await loadWorld(); // again, now for the chosen user
  $("user-select").addEventListener("change", (event) => selectUser(event.target.value));
  const list = $("messages");
  list.addEventListener("scroll", () => {
    state.stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  });
  $("sidebar-toggle").addEventListener("click", () => showSidebar(!document.body.classList.contains("sidebar-open")));
  $("sidebar-scrim").addEventListener("click", () => showSidebar(false));
  setupComposer();
  setupModalRoot();
  connectLive();
  await selectChannel(state.channel);
  $("user-avatar").textContent = initial(state.user);
  $("command-input").focus();
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", init);
