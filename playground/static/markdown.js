"use strict";
// Discord-flavoured text for the playground page: a safe markdown subset and Discord's timestamp styles.
// Pure functions of their arguments (no DOM), shared by app.js.


function escapeHTML(text) {
  const map = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text).replace(/[&<>"']/g, (c) => map[c]);
}

// nameOf(id) turns a <@id> mention into the name the page shows.
function stripMarkdown(text, nameOf) {
  return String(text).replace(/<@!?(\d+)>/g, (_, id) => `@${nameOf(id)}`).replace(/[*_`~]/g, "");
}

function renderMarkdown(text, nameOf) {
  // Code, mentions, timestamps and links are stashed first so later rules cannot rewrite inside them.
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  const link = (href, label) => keep(`<a href="${href}" target="_blank" rel="noopener">${label}</a>`);
  let s = escapeHTML(text);
  s = s.replace(/```(?:[\w-]+\n)?([\s\S]*?)```/g, (_, code) => keep(`<pre><code>${code}</code></pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`));
  s = s.replace(/&lt;@!?(\d+)&gt;/g,
    (_, id) => keep(`<span class="mention">@${escapeHTML(nameOf(id))}</span>`));
  s = s.replace(/&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;/g, (_, seconds, style) => keep(
    `<span class="discord-time" title="${escapeHTML(new Date(seconds * 1000).toString())}">`
    + `${escapeHTML(formatDiscordTime(Number(seconds), style || "f"))}</span>`));
  s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, href) => link(href, label));
  s = s.replace(/&lt;(https?:\/\/[^\s]+?)&gt;/g, (_, href) => link(href, href));
  s = s.replace(/https?:\/\/(?:(?!&lt;|&gt;|&quot;)[^\s\u0000])+/g, (href) => link(href, href));
  s = s.replace(/\*\*([\s\S]+?)\*\*/g, "<strong>$1</strong>");
  s = s.replace(/__([\s\S]+?)__/g, "<u>$1</u>");
  s = s.replace(/~~([\s\S]+?)~~/g, "<s>$1</s>");
  s = s.replace(/\*([^*\n]+)\*/g, "<em>$1</em>");
  s = s.replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => stash[Number(i)]);
}

function formatDiscordTime(seconds, style) {
  const date = new Date(seconds * 1000);
  const time = { hour: "numeric", minute: "2-digit" };
  switch (style) {
    case "t": return date.toLocaleTimeString([], time);
    case "T": return date.toLocaleTimeString();
    case "d": return date.toLocaleDateString();
    case "D": return date.toLocaleDateString([], { dateStyle: "long" });
    case "F": return date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
    case "R": return relativeTime(date);
    default: return date.toLocaleString([], { dateStyle: "long", timeStyle: "short" });
  }
}

function relativeTime(date) {
  const format = new Intl.RelativeTimeFormat([], { numeric: "auto" });
  const diff = (date.getTime() - Date.now()) / 1000;
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(diff) >= size) return format.format(Math.round(diff / size), unit);
  }
  return format.format(Math.round(diff), "second");
}

function formatTimestamp(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  const today = new Date().toDateString() === date.toDateString();
  return today ? `Today at ${time}` : `${date.toLocaleDateString()} ${time}`;
}
