// The viewer: 2D/3D maps, zoning lookup panel, search, permalink, languages. Plain ES modules, no bundler.
import { loadLanguage, lang, t, localName, formatNumber } from "./i18n.js";
import { Map2D } from "./map2d.js";
import { Map3D } from "./map3d.js";
import { LEGEND as BASE_LEGEND } from "./basemap.js";
import { envelopeSection, drawEnvelope, clearEnvelope } from "./envelope.js";
import { asOfNote, setupAsOf, withAsOf } from "./asof.js";
import { certificateSection } from "./certificate.js";
import { consultationSection } from "./consultation.js";

const $ = (sel) => document.querySelector(sel);
const app = {
  config: null,
  view: "2d",
  map2d: null,
  map3d: null,
  answer: null,
  asOf: null, // the date of the plan shown (YYYY-MM-DD), null for today's
  timings: { start: performance.timeOrigin },
  ready: { map2d: false, tileset3d: false },
  errors: [],
  tools: [], // role tools (planners, permit officers) register here: { onLanguage() }
  clickHandlers: [], // (point {lon, lat, x, y}) => true when a tool took the click

};
window.viewerApp = app;

// ---------- small helpers ----------
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

export function status(text) {
  $("#status").textContent = text || "";
}

// An error answer of the API ({code, description}) in plain words.
export async function apiError(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON */ }
  const head = response.status === 404 ? t("not_found") : response.status === 400 ? t("bad_input") : t("error");
  return `${head}: ${body.description || response.statusText}`;
}

// ---------- permalink: #v=2d&lang=vi&lon=..&lat=..&z=..&parcel=..&d=YYYY-MM-DD ----------
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const num = (k) => (p.has(k) && Number.isFinite(Number(p.get(k))) ? Number(p.get(k)) : null);
  return { v: p.get("v"), lang: p.get("lang"), lon: num("lon"), lat: num("lat"), z: num("z"), parcel: num("parcel"),
           plon: num("plon"), plat: num("plat"), d: p.get("d") };
}

export function writeHash() {
  const v = currentView();
  const p = new URLSearchParams();
  p.set("v", app.view);
  p.set("lang", lang());
  if (app.asOf) p.set("d", app.asOf);
  if (v) { p.set("lon", v.lon.toFixed(6)); p.set("lat", v.lat.toFixed(6)); p.set("z", v.zoom.toFixed(2)); }
  const a = app.answer;
  if (a && a.parcel) p.set("parcel", a.parcel.id);
  else if (a && a.location) { p.set("plon", a.location.lon); p.set("plat", a.location.lat); }
  history.replaceState(null, "", "#" + p.toString());
}

function currentView() {
  if (app.view === "3d" && app.map3d) return app.map3d.view() || app.map2d.view();
  return app.map2d ? app.map2d.view() : null;
}

// ---------- the panel ----------
export function openPanel(title, ...content) {
  $("#panel-title").textContent = title;
  $("#panel-body").replaceChildren(...content);
  const panel = $("#panel");
  panel.classList.remove("wide");
  panel.hidden = false;
  panel.scrollTop = 0; // new content starts at its top, not where the previous one was scrolled to
  app.map2d && app.map2d.resize();
  app.map3d && app.map3d.resize();
  return panel;
}

function closePanel() {
  $("#panel").hidden = true;
  app.answer = null;
  app.map2d && app.map2d.highlight(null);
  app.map2d && app.map2d.showShapes(null);
  clearEnvelope();
  app.map2d && app.map2d.resize();
  writeHash();
  (app.view === "3d" ? $("#map3d") : $("#map2d")).focus();
}

// The zone rules and their labels come from the layer catalogue (config.zone_rules), so a new rule shows up here.
function ruleRows(rules) {
  const rows = [];
  for (const rule of (app.config && app.config.zone_rules) || []) {
    const v = rules[rule.name];
    if (v === null || v === undefined || v === "") continue;
    const unit = rule.unit ? " " + rule.unit : rule.type === "integer" ? " " + t("floors_unit") : "";
    const text = typeof v === "number" ? formatNumber(v) + unit : String(v);
    rows.push(el("dt", { text: rule.label[lang()] || rule.label.en }), el("dd", { "data-rule": rule.name, text }));
  }
  return rows;
}

function renderZone(z) {
  const color = z.land_use.color || "#ccc";
  const share = z.share_pct;
  const head = el("div", { class: "zone-head" },
    el("span", { class: "swatch", style: `background:${color}` }),
    el("span", { text: `${t("zone")} ${z.zone_code || z.id}` }),
    el("span", { class: "code", text: z.land_use.code }),
    share !== null && share !== undefined ? el("span", { class: "share", text: `${formatNumber(share)} %` }) : null);
  const parts = [head, el("div", { class: "muted", text: `${localName(z.land_use)}${z.name ? " · " + z.name : ""}` })];
  if (share !== null && share !== undefined) {
    parts.push(el("div", { class: "sharebar", role: "presentation" },
      el("span", { style: `width:${Math.min(100, share)}%;background:${color}` })));
    parts.push(el("dl", {}, el("dt", { text: t("zone_area") }), el("dd", { text: `${formatNumber(z.area_m2)} m²` }),
                             el("dt", { text: t("share") }), el("dd", { text: `${formatNumber(share)} %` })));
  }
  parts.push(el("h3", { text: t("rules") }), el("dl", {}, ruleRows(z.rules || {})));
  const p = z.plan || {};
  const decision = p.decision_no ? `${p.decision_no}${p.decision_date ? ` ${t("decision_date")} ${p.decision_date}` : ""}` : "—";
  parts.push(el("h3", { text: t("plan") }), el("dl", {},
    el("dt", { text: t("plan") }), el("dd", { text: p.name || "—" }),
    el("dt", { text: t("plan_code") }), el("dd", { text: `${p.code || "—"} (${t("version")} ${p.version ?? "?"})` }),
    el("dt", { text: t("decision") }), el("dd", { text: decision })));
  return el("section", { class: "zone", "data-zone": z.zone_code || "", "data-share": share ?? "" }, parts);
}

// `fly`: the lookup moved the map to the parcel; in 3D the camera then frames its envelope.
export function renderAnswer(answer, extra = [], { fly = false } = {}) {
  app.answer = answer;
  const body = [];
  const parcel = answer.parcel;
  if (parcel) {
    const lu = parcel.land_use;
    body.push(el("section", { id: "parcel-info" },
      el("h3", { text: `${t("parcel_title")}: ${t("sheet_parcel", { sheet: parcel.sheet_no, parcel: parcel.parcel_no })}` }),
      el("dl", {},
        el("dt", { text: t("ward_label") }), el("dd", { text: parcel.ward || "—" }),
        parcel.address ? [el("dt", { text: t("address") }), el("dd", { text: parcel.address })] : [],
        el("dt", { text: t("area_recorded") }), el("dd", { text: `${formatNumber(parcel.area_m2)} m²` }),
        el("dt", { text: t("area_measured") }), el("dd", { text: `${formatNumber(parcel.measured_area_m2)} m²` }),
        lu ? [el("dt", { text: t("current_use") }),
              el("dd", {}, el("span", { class: "swatch", style: `background:${lu.color || "#ccc"}` }), ` ${lu.code} · ${localName(lu)}`)] : [])));
  } else if (answer.location) {
    body.push(el("p", { class: "muted", text: `${t("no_parcel")} ${t("point")}: ${answer.location.lat}, ${answer.location.lon} · VN-2000 E ${answer.location.e} N ${answer.location.n}` }));
  }
  const note = asOfNote(answer);
  if (note) body.unshift(note);
  const consultation = consultationSection(answer); // a draft open for comment: what it changes here, first
  if (consultation) body.push(consultation);
  const certificate = certificateSection(answer);
  if (certificate) body.push(certificate);
  const envelope = envelopeSection(answer);
  if (envelope) body.push(envelope);
  const zones = answer.zones || [];
  if (answer.plan_data !== "no_plan_in_force") { // the note above says it: no plan, so no zone
    body.push(el("h3", { text: parcel && zones.length > 1 ? t("zones_count", { n: zones.length }) : t("zones_title") }));
    if (!zones.length) body.push(el("p", { class: "muted", text: t("no_zones") }));
  }
  for (const z of zones) body.push(renderZone(z));
  body.push(...extra);
  body.push(el("div", { class: "actions" },
    el("button", { type: "button", id: "copy-link", text: t("permalink"), onclick: copyLink }),
    el("button", { type: "button", text: t("print"), onclick: () => window.print() })));
  openPanel(t("lookup_title"), ...body);
  app.map2d.highlight(answer);
  // the envelope's drawing is today's plan: on another date the panel gives that date's figures only
  if (parcel && answer.envelope && !answer.as_of) drawEnvelope(parcel.id, { fly: fly && app.view === "3d" });
  else clearEnvelope();
  writeHash();
}

async function copyLink() {
  writeHash();
  try { await navigator.clipboard.writeText(location.href); status(t("copied")); }
  catch { status(location.href); }
  setTimeout(() => status(""), 2500);
}

// ---------- lookup ----------
export async function lookup(params, { fly = false } = {}) {
  status(t("loading"));
  const url = withAsOf(typeof params === "number" ? `/lookup/parcels/${params}` : `/lookup?${new URLSearchParams(params)}`);
  try {
    const r = await fetch(url);
    if (!r.ok) {
      openPanel(t("lookup_title"), el("p", { class: "error", role: "alert", text: await apiError(r) }));
      return null;
    }
    const answer = await r.json();
    renderAnswer(answer, [], { fly });
    if (fly && answer.parcel && answer.parcel.centroid) {
      const c = answer.parcel.centroid;
      // close enough to see the parcel's envelope, with its streets around
      const v = { lon: c.lon, lat: c.lat, zoom: Math.max(currentView()?.zoom || 17, 19) };
      app.map2d.setView(v);
      if (app.map3d) app.map3d.setView(v);
      writeHash();
    }
    return answer;
  } catch (e) {
    openPanel(t("lookup_title"), el("p", { class: "error", role: "alert", text: `${t("error")}: ${e.message}` }));
    return null;
  } finally {
    status("");
  }
}

function featureSection(props) {
  const skip = new Set(["rgb"]);
  const rows = [];
  for (const [k, v] of Object.entries(props)) {
    if (skip.has(k) || v === null || v === undefined || v === "" || v === -1 || v === -9999) continue;
    rows.push(el("dt", { text: t(k) === k ? k.replaceAll("_", " ") : t(k) }),
              el("dd", { text: typeof v === "number" ? formatNumber(v) : String(v) }));
  }
  return el("section", { id: "feature-info" }, el("h3", { text: t("feature_3d") }), el("dl", {}, rows));
}

async function lookupFrom3D(pick) {
  if (!pick.point && !pick.properties) return;
  const props = pick.properties;
  let answer = null;
  const ask = (url) => fetch(withAsOf(url)).then((r) => (r.ok ? r.json() : null));
  if (props && props.parcel_id > 0) answer = await ask(`/lookup/parcels/${props.parcel_id}`);
  else if (pick.point) answer = await ask(`/lookup?lon=${pick.point.lon}&lat=${pick.point.lat}`);
  const extra = props ? [featureSection(props)] : [];
  if (answer) renderAnswer(answer, extra);
  else openPanel(t("feature_3d"), ...extra);
}

// ---------- views ----------
async function show3D() {
  const here = app.map2d.view();
  app.view = "3d";
  $("#map2d").hidden = true;
  $("#map3d").hidden = false;
  $("#view-2d").setAttribute("aria-pressed", "false");
  $("#view-3d").setAttribute("aria-pressed", "true");
  if (!app.map3d) {
    status(t("loading_3d"));
    try {
      app.map3d = await Map3D.create($("#map3d"), app.config);
      app.map3d.onClick((pick) => lookupFrom3D(pick));
      app.map3d.setView(here);
      if (app.envelopeShown) drawEnvelope(app.envelopeShown);
      app.map3d.baseMapReady.then(() => { app.ready.baseMap3d = true; })
        .catch((e) => app.errors.push(String(e)));
      app.map3d.tilesetReady.then((tms) => {
        app.timings.tileset3d = tms;
        app.ready.tileset3d = true;
        status("");
      }).catch((e) => { app.errors.push(String(e)); status(t("no_3d")); });
    } catch (e) {
      app.errors.push(String(e));
      status(t("webgl_error"));
      return;
    }
  } else {
    app.map3d.resize();
    app.map3d.setView(here);
  }
  writeHash();
}

function show2D() {
  const here = app.map3d && app.view === "3d" ? app.map3d.view() : null;
  app.view = "2d";
  $("#map3d").hidden = true;
  $("#map2d").hidden = false;
  $("#view-2d").setAttribute("aria-pressed", "true");
  $("#view-3d").setAttribute("aria-pressed", "false");
  app.map2d.resize();
  if (here) app.map2d.setView(here);
  writeHash();
}
app.show2D = show2D;
app.show3D = show3D;
app.lookup = lookup;
app.renderAnswer = renderAnswer;
app.openPanel = openPanel;
app.el = el;
app.status = status;
app.apiError = apiError;
app.writeHash = writeHash;

// ---------- legend ----------
function renderLegend() {
  const items = (app.config.legend || []).map((c) =>
    el("li", { "data-code": c.code }, el("span", { class: "swatch", style: `background:${c.color}` }),
       el("span", { class: "code", text: c.code }), el("span", { text: localName(c) })));
  $("#legend-list").replaceChildren(...items);
  $("#legend-base").replaceChildren(...BASE_LEGEND.map((b) =>
    el("li", { "data-base": b.kind }, el("span", { class: `swatch ${b.class || ""}`, style: b.style }),
       el("span", { text: t(b.key) }))));
}

async function setLanguage(code) {
  await loadLanguage(code);
  for (const b of ["vi", "en"]) $(`#lang-${b}`).setAttribute("aria-pressed", String(b === code));
  renderLegend();
  app.map2d && app.map2d.setLanguage(code);
  app.map3d && app.map3d.setLanguage(code);
  if (app.answer) renderAnswer(app.answer);
  for (const tool of app.tools) tool.onLanguage && tool.onLanguage();
  try { localStorage.setItem("lang", code); } catch { /* private mode */ }
  writeHash();
}
app.setLanguage = setLanguage;

// ---------- start ----------
async function start() {
  const hash = readHash();
  let stored = null;
  try { stored = localStorage.getItem("lang"); } catch { /* private mode */ }
  const language = hash.lang || stored || "vi";
  const [config] = await Promise.all([fetch("/viewer/config.json").then((r) => r.json()), loadLanguage(language)]);
  app.config = config;
  for (const b of ["vi", "en"]) $(`#lang-${b}`).setAttribute("aria-pressed", String(b === lang()));
  renderLegend();
  if (!(config.plans || []).length) status(t("no_approved_plan"));
  let view = { lon: config.default_center[0], lat: config.default_center[1], zoom: 14 };
  if (hash.lon !== null && hash.lat !== null) view = { lon: hash.lon, lat: hash.lat, zoom: hash.z ?? 16 };
  setupAsOf(hash.d);
  app.map2d = new Map2D($("#map2d"), config, view, app.asOf);
  if (hash.lon === null && config.extent) app.map2d.fitBounds(config.extent);
  app.map2d.firstRender.then((tms) => { app.timings.map2d = tms; app.ready.map2d = true; });
  app.map2d.onClick((p) => {
    for (const handler of app.clickHandlers) if (handler(p)) return;
    lookup({ lon: p.lon.toFixed(8), lat: p.lat.toFixed(8) });
  });
  app.map2d.map.on("moveend", () => app.view === "2d" && writeHash());

  $("#view-2d").addEventListener("click", show2D);
  $("#view-3d").addEventListener("click", show3D);
  $("#lang-vi").addEventListener("click", () => setLanguage("vi"));
  $("#lang-en").addEventListener("click", () => setLanguage("en"));
  $("#panel-close").addEventListener("click", closePanel);
  $("#legend-toggle").addEventListener("click", () => {
    const legend = $("#legend");
    legend.hidden = !legend.hidden;
    $("#legend-toggle").setAttribute("aria-expanded", String(!legend.hidden));
    app.map2d.resize();
    app.map3d && app.map3d.resize();
  });
  $("#search").addEventListener("submit", (e) => {
    e.preventDefault();
    const sheet = $("#search-sheet").value.trim();
    const parcel = $("#search-parcel").value.trim();
    const ward = $("#search-ward").value.trim();
    if (!/^[1-9][0-9]*$/.test(sheet) || !/^[1-9][0-9]*$/.test(parcel)) {
      openPanel(t("lookup_title"), el("p", { class: "error", role: "alert", text: t("need_sheet_parcel") }));
      return;
    }
    const params = { sheet_no: sheet, parcel_no: parcel };
    if (ward) params.ward = ward;
    lookup(params, { fly: true }).then((a) => a && $("#panel").focus());
  });
  // Keyboard: Enter on a map looks up its centre; Escape closes the panel.
  $("#map2d").addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      const c = app.map2d.view();
      lookup({ lon: c.lon.toFixed(8), lat: c.lat.toFixed(8) });
    }
  });
  $("#map3d").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && app.map3d) lookupFrom3D(app.map3d.centre());
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("#panel").hidden) closePanel();
  });
  window.addEventListener("hashchange", () => {
    const h = readHash();
    if (h.parcel && (!app.answer || !app.answer.parcel || app.answer.parcel.id !== h.parcel)) lookup(h.parcel, { fly: true });
  });

  if (hash.parcel) lookup(hash.parcel, { fly: hash.lon === null });
  else if (hash.plon !== null && hash.plat !== null) lookup({ lon: hash.plon, lat: hash.plat });
  if (hash.v === "3d") show3D();
  document.dispatchEvent(new CustomEvent("viewer-ready", { detail: app }));
  app.started = true;
}

start().catch((e) => {
  app.errors.push(String(e && e.stack || e));
  status(t("error") + ": " + e.message);
});
