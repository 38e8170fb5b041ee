// Labels in Vietnamese (default) and English: elements carry data-i18n (text), data-i18n-placeholder,
// data-i18n-aria (aria-label); code asks t(key, {vars}).
const LANGS = ["vi", "en"];
const tables = {};
let current = "vi";

export async function loadLanguage(lang) {
  if (!LANGS.includes(lang)) lang = "vi";
  if (!tables[lang]) {
    const r = await fetch(`/viewer/i18n/${lang}.json`);
    tables[lang] = await r.json();
  }
  current = lang;
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  document.title = t("title");
  return lang;
}

export function lang() {
  return current;
}

export function t(key, vars = {}) {
  const table = tables[current] || {};
  let text = table[key] ?? (tables.vi || {})[key] ?? key;
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

// A value's name in the current language: objects with name_vi / name_en.
export function localName(obj) {
  if (!obj) return "";
  return (current === "en" ? obj.name_en || obj.name_vi : obj.name_vi || obj.name_en) || "";
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(current === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: digits }).format(value);
}
