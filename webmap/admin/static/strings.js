// The staff scripts' messages in the page's language: the server puts them in #staff-strings.

const element = document.getElementById("staff-strings");
const strings = element ? JSON.parse(element.textContent) : {};

export function say(key, values = {}) {
  const template = strings[key] || key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function number(value) {
  return value.toLocaleString(document.documentElement.lang || "en").replace(/[\s,\u00a0\u202f]/g, " ");
}
