// The land-use balance table of each approved plan (bảng cân bằng sử dụng đất): a button in the bar opens the panel
// with a plan chooser, the table (ha, %, change since the previous version) and a bar chart in the official land-use
// colours, all read from GET /plans/{code}/balance. Names and numbers are set as text, never as markup.
import { t, lang } from "./i18n.js";

const app = () => window.viewerApp;
const el = (...a) => app().el(...a);
const $ = (s) => document.querySelector(s);
const SVG = "http://www.w3.org/2000/svg";

function num(v, digits = 2) {
  return v === null || v === undefined ? "–" : Number(v).toLocaleString(lang() === "en" ? "en-GB" : "vi-VN",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function signed(v) {
  if (v === null || v === undefined) return "–";
  return (v > 0 ? "+" : "") + num(v);
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// One horizontal bar per code, its length the share of the plan, in the code's map colour.
function chart(table) {
  const rows = table.rows.filter((r) => r.zones > 0);
  const barH = 18, gap = 4, labelW = 44, width = 320, valueW = 52;
  const max = Math.max(...rows.map((r) => r.share_pct), 1);
  const root = svg("svg", { id: "balance-chart", role: "img", width: String(width),
                             height: String(rows.length * (barH + gap)), "aria-label": t("balance_chart") });
  rows.forEach((r, i) => {
    const y = i * (barH + gap);
    const w = Math.max(1, (width - labelW - valueW) * r.share_pct / max);
    const label = svg("text", { x: "0", y: String(y + barH - 5), "font-size": "12" });
    label.textContent = r.code;
    const bar = svg("rect", { x: String(labelW), y: String(y), width: String(w), height: String(barH),
                              fill: r.color || "#cccccc", stroke: "rgba(0,0,0,.35)", "data-code": r.code });
    const title = svg("title", {});
    title.textContent = `${r.code}: ${num(r.area_ha)} ha (${num(r.share_pct)} %)`;
    bar.append(title);
    const value = svg("text", { x: String(labelW + w + 4), y: String(y + barH - 5), "font-size": "11" });
    value.textContent = `${num(r.share_pct, 1)} %`;
    root.append(label, bar, value);
  });
  return root;
}

function tableOf(table) {
  const head = el("tr", {}, ...["balance_code", "balance_use", "ha", "%", "balance_change"].map((k) =>
    el("th", { scope: "col", text: k === "ha" || k === "%" ? k : t(k) })));
  const body = table.rows.filter((r) => r.zones > 0 || r.previous_ha).map((r) => el("tr", { "data-code": r.code },
    el("td", {}, el("span", { class: "swatch", style: `background:${r.color || "#ccc"}` }), el("span", { text: " " + r.code })),
    el("td", { text: (lang() === "en" ? r.name_en : r.name_vi) || "" }),
    el("td", { class: "num", text: num(r.area_ha) }),
    el("td", { class: "num", text: num(r.share_pct) }),
    el("td", { class: "num", text: signed(r.change_ha) })));
  const total = (key, value) => el("tr", { class: "total" }, el("th", { colspan: "2", scope: "row", text: t(key) }),
    el("td", { class: "num", text: num(value) }), el("td", {}), el("td", {}));
  return el("table", { id: "balance-table", class: "balance" }, el("thead", {}, head),
    el("tbody", {}, ...body, total("balance_zones", table.zones_ha), total("balance_boundary", table.boundary_ha),
       total("balance_no_zone", table.no_zone_ha)));
}

async function show(code) {
  const r = await fetch(`/plans/${encodeURIComponent(code)}/balance`);
  const box = $("#balance-body");
  if (!r.ok) {
    box.replaceChildren(el("p", { class: "error", role: "alert", text: t("error") }));
    return;
  }
  const table = await r.json();
  const p = table.plan;
  const prev = table.previous ? t("balance_previous", { version: table.previous.version }) : "";
  const findings = (table.findings || []).map((f) => el("li", { text: lang() === "en" ? f.message_en : f.message_vi }));
  box.replaceChildren(
    el("p", { text: `${p.code} — ${p.name} (${t("version")} ${p.version}, ${p.decision_no || ""}). ${prev}` }),
    chart(table), tableOf(table), ...(findings.length ? [el("ul", { class: "warn-text" }, ...findings)] : []));
  box.dataset.plan = code;
}

async function open() {
  const plans = app().config.plans || [];
  const choose = el("select", { id: "balance-plan", "aria-label": t("balance_plan") },
    ...plans.map((p) => el("option", { value: p.code, text: `${p.code} — ${p.name}` })));
  choose.addEventListener("change", () => show(choose.value));
  const panel = app().openPanel(t("balance_title"), choose, el("div", { id: "balance-body" }));
  panel.classList.add("wide");
  if (plans.length) await show(plans[0].code);
}

function setup() {
  const button = el("button", { type: "button", id: "balance-open", text: t("balance_button") });
  button.addEventListener("click", () => open().catch((e) => app().errors.push(String(e))));
  $("#legend-toggle").after(button);
  app().tools.push({ onLanguage: () => {
    button.textContent = t("balance_button");
    const code = $("#balance-body") && $("#balance-body").dataset.plan;
    if (code && !$("#panel").hidden) open().then(() => show(code));
  } });
}

if (window.viewerApp && window.viewerApp.started) setup();
else document.addEventListener("viewer-ready", setup, { once: true });
