"use strict";
// Slash-command text for the playground's command box, as pure functions of the registered commands:
// which command a line names, which option is being typed, and the options object /slash expects.

const OPTION = { SUB_COMMAND: 1, SUB_COMMAND_GROUP: 2, STRING: 3, INTEGER: 4, BOOLEAN: 5, NUMBER: 10,
  ATTACHMENT: 11 };

// Subcommands become their own entries ("engine set"), as Discord's picker lists them.
function flattenCommands(commands) {
  const entries = [];
  const walk = (path, node, root) => {
    const options = node.options || [];
    const subs = options.filter((o) => o.type === OPTION.SUB_COMMAND || o.type === OPTION.SUB_COMMAND_GROUP);
    if (subs.length === 0) entries.push({ path, description: node.description || "", options, root });
    for (const sub of subs) walk(`${path} ${sub.name}`, sub, root);
  };
  for (const command of commands) walk(command.name, command, command);
  return entries;
}

// The longest command path the line starts with, and the text after it.
function matchCommand(line, entries) {
  const text = line.replace(/^\//, "");
  const hits = entries.filter((e) => text === e.path || text.startsWith(`${e.path} `));
  if (hits.length === 0) return null;
  const entry = hits.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  return { entry, rest: text.slice(entry.path.length + 1) };
}

// A lone option takes the whole rest of the line ("/imagine a red fox --ar 16:9"), unless the line
// names it ("/imagine prompt:a fox"); with several options only name:value pairs are read.
function usesFreeText(entry, rest) {
  return entry.options.length === 1 && !rest.trimStart().startsWith(`${entry.options[0].name}:`);
}

// [{option, value, start}] for each "name:" in rest; a value runs up to the next known "name:".
function splitNamedOptions(entry, rest) {
  const names = entry.options.map((o) => o.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (names.length === 0) return [];
  const pattern = new RegExp(`(^|\\s)(${names.join("|")}):`, "g");
  const marks = [...rest.matchAll(pattern)].map((m) => ({
    option: entry.options.find((o) => o.name === m[2]), start: m.index + m[1].length + m[2].length + 1,
    head: m.index,
  }));
  return marks.map((mark, i) => ({
    option: mark.option, start: mark.start,
    value: rest.slice(mark.start, i + 1 < marks.length ? marks[i + 1].head : rest.length),
  }));
}

// Converts typed text to the option's JSON type; throws an Error whose message a user understands.
// An attachment option names a file the user picked: uploads maps option name -> {filename, content_base64}.
function convertOptionValue(option, raw, uploads = {}) {
  const text = raw.trim();
  switch (option.type) {
    case OPTION.INTEGER:
      if (!/^-?\d+$/.test(text)) throw new Error(`${option.name} must be a whole number, not "${text}"`);
      return Number.parseInt(text, 10);
    case OPTION.NUMBER:
      if (Number.isNaN(Number(text)) || text === "") {
        throw new Error(`${option.name} must be a number, not "${text}"`);
      }
      return Number(text);
    case OPTION.BOOLEAN:
      if (!/^(true|false|yes|no)$/i.test(text)) {
        throw new Error(`${option.name} must be true or false, not "${text}"`);
      }
      return /^(true|yes)$/i.test(text);
    case OPTION.ATTACHMENT:
      if (uploads[option.name] && uploads[option.name].filename === text) return uploads[option.name];
      throw new Error(`${option.name} needs a file: type ${option.name}: and pick "Choose a file…"`);
    default:
      return text;
  }
}

// The {command, options} body for POST /slash, or an Error naming what is wrong with the line.
function buildSlashRequest(line, entries, uploads = {}) {
  const match = matchCommand(line.trim(), entries);
  if (!match) {
    const name = line.trim().replace(/^\//, "").split(/\s+/)[0];
    throw new Error(`Unknown command /${name}`);
  }
  const { entry, rest } = match;
  const typed = usesFreeText(entry, rest)
    ? (rest.trim() ? [{ option: entry.options[0], value: rest }] : [])
    : splitNamedOptions(entry, rest);
  if (!usesFreeText(entry, rest) && typed.length === 0 && rest.trim()) {
    const names = entry.options.map((o) => `${o.name}:`).join(" ");
    throw new Error(`/${entry.path} takes named options (${names || "none"}), not "${rest.trim()}"`);
  }
  const options = {};
  for (const { option, value } of typed) options[option.name] = convertOptionValue(option, value, uploads);
  const missing = entry.options.filter((o) => o.required && !(o.name in options));
  if (missing.length) throw new Error(`/${entry.path} needs ${missing.map((o) => o.name).join(", ")}`);
  return { command: entry.path, options };
}

// What the cursor is on: {kind: "command", typed} while naming the command, {kind: "option-name",
// entry, typed} while starting a "name:", or {kind: "value", entry, option, value, start}.
function describeCursor(line, entries) {
  if (!line.startsWith("/")) return null;
  const match = matchCommand(line, entries);
  if (!match) return { kind: "command", typed: line.slice(1) };
  const { entry, rest } = match;
  const base = line.length - rest.length;
  if (entry.options.length === 0) return { kind: "done", entry };
  if (usesFreeText(entry, rest)) {
    return { kind: "value", entry, option: entry.options[0], value: rest, start: base };
  }
  // A value may hold spaces, so a trailing word is read as a new option's name only while it could be one.
  const lastWord = rest.slice(rest.lastIndexOf(" ") + 1);
  const named = splitNamedOptions(entry, rest);
  const used = new Set(named.map((n) => n.option.name));
  const couldBeName = entry.options.some((o) => !used.has(o.name) && o.name.startsWith(lastWord));
  const last = named[named.length - 1];
  if (!last || (!lastWord.includes(":") && couldBeName)) {
    return { kind: "option-name", entry, typed: lastWord, used, start: line.length - lastWord.length };
  }
  return { kind: "value", entry, option: last.option, value: last.value, start: base + last.start };
}
