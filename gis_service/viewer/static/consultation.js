// Public consultation of a draft plan (lấy ý kiến): the banner while a draft is under consultation, the draft's tiles
// (?view=consultation) over the approved plan with its changed zones highlighted (the diff's GeoJSON), what the draft
// changes for the looked-up parcel, the comment form; for planners, opening a consultation, answering and marking
// comments, the report. Everything a user wrote is set with textContent (el's "text"), never as markup.
import { t, lang } from "./i18n.js";
import { formatDay } from "./asof.js";

const app = () => window.viewerApp;
const el = (...a) => app().el(...a);
const $ = (s) => document.querySelector(s);
const PLANNERS = ["planner", "admin"];
const DRAFT_TILES = "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}?view=consultation";
const OUTCOMES = ["pending", "accepted", "changed", "not_accepted"];
const state = { open: [], shown: false, changed: null, point: null };

function session() {
  const p = app().planner;
  return p && p.session && p.session.user ? p.session : null;
}

function isPlanner() {
  const s = session();
  return Boolean(s && PLANNERS.includes(s.user.role));
}

function authHeaders(extra = {}) {
  const s = session();
  return s ? { Authorization: `Bearer ${s.token}`, ...extra } : extra;
}

const getJSON = (url, options = {}) => fetch(url, { ...options, headers: authHeaders(options.headers || {}) });

// ---------- the banner and the draft on the map ----------
// The drafts under consultation today come with the viewer's settings (config.json), asked again after a planner
// opened one.
async function loadOpen(fresh = true) {
  try {
    const config = fresh ? await fetch("/viewer/config.json").then((r) => r.json()) : app().config;
    state.open = config.consultations || [];
  } catch {
    state.open = [];
  }
  renderBanner();
  return state.open;
}

function renderBanner() {
  const box = $("#consultation-banner");
  if (!state.open.length) {
    box.hidden = true;
    box.replaceChildren();
    if (state.shown) showDraft(false);
    return;
  }
  const lines = state.open.map((c) => el("span", { class: "consultation-line", "data-consultation": c.id,
    text: t("consult_banner", { name: c.plan.name || c.plan.code, version: c.plan.version, date: formatDay(c.ends_on) }) }));
  const toggle = el("button", { type: "button", id: "consultation-toggle", "aria-pressed": String(state.shown),
    text: t(state.shown ? "consult_hide_draft" : "consult_show_draft"), onclick: () => showDraft(!state.shown) });
  const key = state.shown ? el("span", { class: "consultation-key", id: "consultation-key" },
    el("span", { class: "swatch changed", "aria-hidden": "true" }), t("consult_changed_key")) : null;
  box.replaceChildren(el("strong", { text: t("consult_notice") }), ...lines, toggle, key || "");
  box.hidden = false;
}

function draftLayers() {
  return [
    { id: "draft-zones-fill", type: "fill", source: "draft", "source-layer": "zones",
      paint: { "fill-color": ["coalesce", ["get", "color"], "#cccccc"], "fill-opacity": 0.55 } },
    { id: "draft-zones-line", type: "line", source: "draft", "source-layer": "zones",
      paint: { "line-color": "#6a1b9a", "line-width": 1, "line-dasharray": [2, 1] } },
    { id: "draft-red-lines", type: "line", source: "draft", "source-layer": "red_lines",
      paint: { "line-color": "#e31a1c", "line-width": 2, "line-dasharray": [3, 1.5] } },
    { id: "draft-changed-fill", type: "fill", source: "draft-changes", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#ff6f00", "fill-opacity": 0.35 } },
    { id: "draft-changed-line", type: "line", source: "draft-changes",
      paint: { "line-color": "#ff6f00", "line-width": 3 } },
  ];
}

// The changed parts of every draft under consultation (GeoJSON in CRS84), for the highlight.
async function changedParts() {
  const features = [];
  for (const c of state.open) {
    try {
      const r = await fetch(`/plans/${encodeURIComponent(c.plan.code)}/diff?f=geojson`);
      if (r.ok) features.push(...((await r.json()).features || []));
    } catch { /* the highlight is a help: the draft's tiles still show */ }
  }
  return { type: "FeatureCollection", features };
}

// Show the draft over the approved plan (the approved zones stay underneath, paler) or take it away.
export async function showDraft(on) {
  const map = app().map2d.map;
  if (on && app().asOf) app().setAsOf(null);  // the draft is shown beside today's plan, not a past one
  state.shown = on;
  if (on) {
    if (!map.getSource("draft")) {
      map.addSource("draft", { type: "vector", tiles: [location.origin + DRAFT_TILES], minzoom: 0, maxzoom: 19 });
      map.addSource("draft-changes", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      for (const layer of draftLayers()) map.addLayer(layer, "parcels-line");
    }
    for (const layer of draftLayers()) map.setLayoutProperty(layer.id, "visibility", "visible");
    map.setPaintProperty("zones-fill", "fill-opacity", 0.2);
    if (!state.changed) state.changed = await changedParts();
    map.getSource("draft-changes").setData(state.changed);
    $("#maps").dataset.draft = "shown";
    $("#maps").dataset.changedParts = String(state.changed.features.length);
  } else if (map.getSource("draft")) {
    for (const layer of draftLayers()) map.setLayoutProperty(layer.id, "visibility", "none");
    map.setPaintProperty("zones-fill", "fill-opacity", ["case", ["boolean", ["feature-state", "selected"], false], 0.85, 0.6]);
    delete $("#maps").dataset.draft;
  }
  renderBanner();
}

// ---------- the parcel panel: what the draft changes, comments ----------
function outcomeText(c) {
  if (c.outcome === "changed") return t("consult_outcome_changed", { version: c.outcome_version ?? "?" });
  return t(`consult_outcome_${c.outcome || "pending"}`);
}

// A comment as the public sees it, with the planners' answer and outcome in plain words.
function commentItem(c) {
  const parts = [el("p", { class: "comment-author", text: `${c.author_name} · ${c.created_at.slice(0, 10)}` }),
                 el("p", { class: "comment-body", text: c.body })];
  if (c.answer) parts.push(el("p", { class: "comment-answer" }, el("strong", { text: `${t("consult_answer")}: ` }), c.answer));
  parts.push(el("p", { class: `comment-outcome outcome-${c.outcome}`, text: outcomeText(c) }));
  if (c.outcome_reason) parts.push(el("p", { class: "muted", text: c.outcome_reason }));
  return el("li", { class: "comment", "data-comment": c.id }, parts);
}

async function fillChanges(box, parcel) {
  try {
    const r = await fetch(`/parcels/${parcel.id}/changes?lang=${lang()}`);
    if (!r.ok) { box.replaceChildren(el("p", { class: "muted", text: t("consult_changes_none") })); return; }
    const answer = await r.json();
    const sentences = answer.touched ? answer.summary || [] : [];
    box.dataset.touched = String(Boolean(answer.touched));
    box.replaceChildren(sentences.length
      ? el("ul", { class: "changes" }, sentences.map((s) => el("li", { text: s })))
      : el("p", { class: "muted", text: t("consult_changes_none") }));
  } catch (e) {
    box.replaceChildren(el("p", { class: "error", text: `${t("error")}: ${e.message}` }));
  }
}

async function fillComments(list, consultation, parcel) {
  try {
    const r = await fetch(`/consultations/${consultation.id}/comments`);
    if (!r.ok) return;
    const all = (await r.json()).comments || [];
    const mine = all.filter((c) => (parcel ? c.parcel_id === parcel.id : false) && !c.hidden);
    list.replaceChildren(...mine.map(commentItem));
  } catch { /* the form still works */ }
}

function commentForm(answer, consultation, list) {
  const parcel = answer.parcel;
  const loc = answer.location;
  const targets = [];
  if (parcel) targets.push(["parcel", t("consult_target_parcel", { sheet: parcel.sheet_no, parcel: parcel.parcel_no })]);
  if (loc) targets.push(["point", t("consult_target_point")]);
  targets.push(["plan", t("consult_target_plan")]);
  const msg = el("p", { id: "comment-result", "aria-live": "polite", hidden: true });
  const form = el("form", { id: "comment-form", class: "form", novalidate: true },
    el("label", {}, t("consult_target"), el("select", { name: "target", id: "comment-target" },
      targets.map(([v, label]) => el("option", { value: v, text: label })))),
    el("label", {}, t("consult_name"), el("input", { name: "author_name", id: "comment-name", maxlength: 200, required: true, autocomplete: "name" })),
    el("label", {}, t("consult_contact"), el("input", { name: "contact", id: "comment-contact", maxlength: 320, required: true, autocomplete: "email" })),
    el("p", { class: "muted", text: t("consult_contact_private") }),
    el("label", {}, t("consult_body"), el("textarea", { name: "body", id: "comment-body", rows: 4, maxlength: 5000, required: true })),
    msg, el("button", { type: "submit", id: "comment-send", class: "primary", text: t("consult_send") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { target: form.target.value, author_name: form.author_name.value.trim(),
                   contact: form.contact.value.trim(), body: form.body.value.trim() };
    if (!body.author_name || !body.contact || !body.body) {
      msg.hidden = false; msg.className = "error"; msg.textContent = t("consult_fill_all"); return;
    }
    if (body.target.startsWith("zone:")) Object.assign(body, { target: "zone", zone_id: Number(body.target.slice(5)) });
    if (body.target === "parcel") body.parcel_id = parcel.id;
    if (body.target === "point") body.point = [Number(loc.lon), Number(loc.lat)];
    form.querySelector("button").disabled = true;
    try {
      const r = await fetch(`/consultations/${consultation.id}/comments`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      msg.hidden = false;
      if (!r.ok) { msg.className = "error"; msg.setAttribute("role", "alert"); msg.textContent = await app().apiError(r); return; }
      const made = await r.json();
      msg.className = "ok";
      msg.textContent = t("consult_sent", { id: made.id });
      form.body.value = "";
      fillComments(list, consultation, parcel);
    } catch (err) {
      msg.hidden = false; msg.className = "error"; msg.textContent = `${t("error")}: ${err.message}`;
    } finally {
      form.querySelector("button").disabled = false;
    }
  });
  return form;
}

// The draft's zones here (the lookup in view=consultation), offered as what a comment is about.
async function addDraftZones(select, answer, consultation) {
  const where = answer.parcel ? `/lookup/parcels/${answer.parcel.id}?envelope=false&view=consultation`
    : answer.location ? `/lookup?lon=${answer.location.lon}&lat=${answer.location.lat}&envelope=false&view=consultation` : null;
  if (!where) return;
  try {
    const r = await fetch(where);
    if (!r.ok) return;
    const zones = ((await r.json()).zones || []).filter((z) => z.plan && z.plan.id === consultation.plan.id);
    const plan = select.querySelector("option[value=plan]");
    for (const z of zones) {
      select.insertBefore(el("option", { value: `zone:${z.id}`, "data-zone-code": z.zone_code || "",
        text: t("consult_target_zone", { zone: z.zone_code || z.id }) }), plan);
    }
  } catch { /* the other targets remain */ }
}

// The panel's consultation section of a lookup answer (null when no draft is under consultation).
export function consultationSection(answer) {
  if (!state.open.length || answer.plan_data === "no_plan_in_force") return null;
  const consultation = state.open[0];
  const section = el("section", { id: "consultation", class: "consultation" },
    el("h3", { text: t("consult_section") }),
    el("p", { class: "consult-note", role: "note", text: t("consult_notice") }));
  if (answer.parcel) {
    const changes = el("div", { id: "parcel-changes", "aria-live": "polite" }, el("p", { class: "muted", text: t("loading") }));
    section.append(el("h4", { text: t("consult_changes_title") }), changes);
    fillChanges(changes, answer.parcel);
  }
  const list = el("ul", { id: "parcel-comments", class: "comments" });
  const form = commentForm(answer, consultation, list);
  section.append(el("h4", { text: t("consult_comment_title") }), form,
                 el("h4", { text: t("consult_comments_here") }), list);
  addDraftZones(form.querySelector("#comment-target"), answer, consultation);
  fillComments(list, consultation, answer.parcel);
  return section;
}

// ---------- planners: open a consultation, moderate, the report ----------
async function download(url, name, box) {
  const r = await getJSON(url);
  if (!r.ok) { box.replaceChildren(el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  const href = URL.createObjectURL(await r.blob());
  const a = el("a", { href, download: name, id: "consult-report-link", text: t("consult_report_ready") });
  box.replaceChildren(a);
  a.click();
}

function moderation(c, onSaved) {
  const msg = el("p", { class: "moderation-result", "aria-live": "polite", hidden: true });
  const form = el("form", { class: "form moderation", "data-comment": c.id },
    el("label", {}, t("consult_answer"), el("textarea", { name: "answer", rows: 2, maxlength: 20000, text: c.answer || "" })),
    el("label", {}, t("consult_outcome"), el("select", { name: "outcome" },
      OUTCOMES.map((o) => el("option", { value: o, selected: o === c.outcome, text: t(`consult_outcome_${o}`) })))),
    el("label", {}, t("consult_outcome_version"), el("input", { name: "outcome_version", inputmode: "numeric", value: c.outcome_version ?? "" })),
    el("label", {}, t("consult_outcome_reason"), el("input", { name: "outcome_reason", value: c.outcome_reason || "" })),
    el("label", {}, t("consult_hide_reason"), el("input", { name: "hidden_reason", value: c.hidden_reason || "" })),
    msg, el("button", { type: "submit", class: "primary", text: t("consult_save") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { answer: form.answer.value.trim() || null, outcome: form.outcome.value,
                   outcome_reason: form.outcome_reason.value.trim() || null };
    const version = form.outcome_version.value.trim();
    if (version) body.outcome_version = Number(version);
    const hidden = form.hidden_reason.value.trim();
    if (hidden) body.hidden_reason = hidden;
    const r = await getJSON(`/comments/${c.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
                                                    body: JSON.stringify(body) });
    msg.hidden = false;
    msg.className = r.ok ? "ok" : "error";
    msg.textContent = r.ok ? t("consult_saved") : await app().apiError(r);
    if (r.ok) onSaved();
  });
  return form;
}

async function showModeration(c, box) {
  const r = await getJSON(`/consultations/${c.id}/comments`);
  if (!r.ok) { box.replaceChildren(el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  const comments = (await r.json()).comments || [];
  if (!comments.length) { box.replaceChildren(el("p", { class: "muted", text: t("consult_no_comments") })); return; }
  box.replaceChildren(el("ul", { class: "comments staff" }, comments.map((k) =>
    el("li", { class: "comment", "data-comment": k.id },
      el("p", { class: "comment-author", text: `#${k.id} · ${k.author_name} · ${k.contact || ""} · ${t(`consult_kind_${k.target}`)}` }),
      el("p", { class: "comment-body", text: k.body }),
      k.hidden ? el("p", { class: "warn-text", text: `${t("consult_hidden")}: ${k.hidden_reason}` }) : null,
      el("p", { class: `comment-outcome outcome-${k.outcome}`, text: outcomeText(k) }),
      moderation(k, () => showModeration(c, box))))));
}

async function showPlannerTools() {
  const [plansR, consR] = await Promise.all([getJSON("/plans"), getJSON("/consultations")]);
  if (!plansR.ok || !consR.ok) {
    app().openPanel(t("consult_tools"), el("p", { class: "error", role: "alert", text: await app().apiError(plansR.ok ? consR : plansR) }));
    return;
  }
  const drafts = ((await plansR.json()).plans || []).filter((p) => p.status === "draft");
  const consultations = (await consR.json()).consultations || [];
  const today = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
  const month = new Date(Date.now() + (7 * 3600e3) + 30 * 86400e3).toISOString().slice(0, 10);
  const msg = el("p", { id: "consult-open-result", "aria-live": "polite", hidden: true });
  const form = el("form", { id: "consult-open-form", class: "form" },
    el("label", {}, t("consult_draft"), el("select", { name: "code", id: "consult-draft" },
      drafts.map((d) => el("option", { value: d.code, text: `${d.code} · ${d.name || ""} (${t("version")} ${d.version})` })))),
    el("label", {}, t("consult_starts"), el("input", { type: "date", name: "starts_on", id: "consult-starts", value: today, required: true })),
    el("label", {}, t("consult_ends"), el("input", { type: "date", name: "ends_on", id: "consult-ends", value: month, required: true })),
    el("label", {}, t("consult_explanation"), el("textarea", { name: "explanation", id: "consult-explanation", rows: 3, required: true })),
    msg, el("button", { type: "submit", id: "consult-open", class: "primary", disabled: !drafts.length, text: t("consult_open") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { starts_on: form.starts_on.value, ends_on: form.ends_on.value, explanation: form.explanation.value.trim() };
    const r = await getJSON(`/plans/${encodeURIComponent(form.code.value)}/consultations`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    msg.hidden = false;
    msg.className = r.ok ? "ok" : "error";
    msg.textContent = r.ok ? t("consult_opened") : await app().apiError(r);
    if (r.ok) { state.changed = null; await loadOpen(); showPlannerTools(); }
  });
  const rows = consultations.map((c) => {
    const box = el("div", { class: "moderation-box" });
    const report = el("div", { class: "report-box" });
    return el("li", { "data-consultation": c.id },
      el("div", { text: `#${c.id} · ${c.plan.code} (${t("version")} ${c.plan.version}) · ${c.starts_on} → ${c.ends_on} · ${t(`consult_status_${c.status}`)}` }),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "consult-comments", text: t("consult_comments"), onclick: () => showModeration(c, box) }),
        el("button", { type: "button", class: "consult-report", text: t("consult_report"),
                       onclick: () => download(`/plans/${encodeURIComponent(c.plan.code)}/consultation-report?format=xlsx`,
                                               `y-kien-${c.plan.code}.xlsx`, report) })),
      report, box);
  });
  app().openPanel(t("consult_tools"), el("h3", { text: t("consult_open_title") }),
    drafts.length ? form : el("p", { class: "muted", text: t("consult_no_draft") }),
    el("h3", { text: t("consult_list") }), el("ul", { id: "consult-list", class: "plans" }, rows));
  $("#panel").classList.add("wide");
}

function renderTools() {
  const box = $("#consultation-role");
  box.replaceChildren(isPlanner()
    ? el("button", { type: "button", id: "consultation-tools", text: t("consult_tools"), onclick: showPlannerTools })
    : "");
}

// A click on the map while the draft is shown: the lookup of the draft there, so the comment names that point.
function init() {
  const a = app();
  a.consultation = { state, showDraft, reload: loadOpen, showPlannerTools };
  a.tools.push({ onLanguage: () => { renderBanner(); renderTools(); } });
  document.addEventListener("viewer-session", () => setTimeout(renderTools, 0));
  renderTools();
  loadOpen(false).then(() => {
    if (a.answer) a.renderAnswer(a.answer); // a permalink's lookup answered before the consultations were known
    a.ready.consultation = true;
  });
}

if (window.viewerApp && window.viewerApp.started) init();
else document.addEventListener("viewer-ready", init, { once: true });
