"use strict";
// Discord-flavoured text for the playground page: a safe markdown subset and Discord's timestamp styles.
// Pure functions of their arguments (no DOM), shared by app.js.


function escapeHTML(text) {
  const map = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text).replace(/[&<>"']/g, (c) => map[c]);
}

// Discord's inline pairs; the first group is what stays before the opening mark (an underscore
// italic only starts outside a word, so snake_case_names stay as they are).
const INLINE_PAIRS = [
  [/()\*\*([\s\S]+?)\*\*/g, "strong"],
  [/()__([\s\S]+?)__/g, "u"],
  [/()~~([\s\S]+?)~~/g, "s"],
  [/()\*([^*\n]+)\*/g, "em"],
  [/(^|[^\w])_([^_\n]+)_(?!\w)/g, "em"],
];

// A bare link ends before trailing markup or punctuation ("**see https://x.io/fox**", "https://x.io."),
// as in Discord; a ")" stays when it closes a "(" of the link (https://en.wikipedia.org/wiki/Fox_(film)).
// Returns [link, the text after it]; `text` may be HTML-escaped ("&#39;" is a quote).
function splitLink(text) {
  let link = text;
  const count = (char) => link.split(char).length - 1;
  for (;;) {
    if (link.endsWith("&#39;")) link = link.slice(0, -5);
    else if (/[*_~.,:;!?'"]$/.test(link) || (link.endsWith(")") && count("(") < count(")"))) {
      link = link.slice(0, -1);
    } else break;
  }
  return [link, text.slice(link.length)];
}

// Plain text for a one-line quote (a reply's preview of its parent): mentions become names, markdown
// marks go, everything else (an underscore inside a word, a link) stays as typed.
function stripMarkdown(text, nameOf) {
  const stash = [];
  const keep = (plain) => `\u0000${stash.push(plain) - 1}\u0000`;
  let s = String(text)
    .replace(/```(?:[\w-]+\n)?([\s\S]*?)```/g, (_, code) => keep(code))
    .replace(/`([^`\n]+)`/g, (_, code) => keep(code))
    .replace(/<@!?(\d+)>/g, (_, id) => keep(`@${nameOf(id)}`))
    .replace(/https?:\/\/[^\s<>\u0000]+/g, (url) => {
      const [link, rest] = splitLink(url);
      return keep(link) + rest;
    })
    .replace(/^-# /gm, "");
  for (const [pattern] of INLINE_PAIRS) s = s.replace(pattern, "$1$2");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => stash[Number(i)]);
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
  s = s.replace(/https?:\/\/(?:(?!&lt;|&gt;|&quot;)[^\s\u0000])+/g, (url) => {
    const [href, rest] = splitLink(url);
    return link(href, href) + rest;
  });
  // "-# " starts a line of subtext: Discord draws it small and muted.
  s = s.replace(/^-# (.+)$/gm, '<span class="subtext">$1</span>');
  for (const [pattern, tag] of INLINE_PAIRS) s = s.replace(pattern, `$1<${tag}>$2</${tag}>`);
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
