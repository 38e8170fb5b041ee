// Planners: sign in, start a draft, select a draft zone, edit its attributes and vertices (2D), save with a reason
// (OGC API - Features Part 4 with If-Match), history and restore; a 412 explained in plain words.
import { t, lang, formatNumber } from "./i18n.js";

const CRS84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>";
// The zone fields a planner edits, with their labels, come from the layer catalogue (config.zone_fields).
const KIND_OF = { string: "text", integer: "int", number: "number" };
function fields() {
  return (app().config.zone_fields || []).map((f) =>
    [f.name, KIND_OF[f.type] || "text", (f.label[lang()] || f.label.en) + (f.unit ? ` (${f.unit})` : "")]);
}
const session = { token: null, user: null, plan: null, draft: null, zone: null, etag: null, geometry: null, editing: false };

function app() { return window.viewerApp; }
function el(...a) { return app().el(...a); }
function auth(extra = {}) { return { Authorization: `Bearer ${session.token}`, ...extra }; }
const $ = (s) => document.querySelector(s);

async function api(url, options = {}) {
  const r = await fetch(url, { ...options, headers: auth(options.headers || {}) });
  if (r.status === 401) { signOut(); }
  return r;
}

// ---------- sign in ----------
function renderRoleTools() {
  const box = $("#role-tools");
  document.dispatchEvent(new CustomEvent("viewer-session", { detail: session.user }));
  if (!session.user) {
    box.replaceChildren(el("button", { type: "button", id: "sign-in", text: t("sign_in"), onclick: showSignIn }));
    return;
  }
  const parts = [el("button", { type: "button", id: "sign-out", title: session.user.name, text: `${t("sign_out")} (${session.user.name})`, onclick: signOut })];
  if (["planner", "admin"].includes(session.user.role))
    parts.unshift(el("button", { type: "button", id: "planner-tools", text: t("planner_tools"), onclick: showPlans }));
  box.replaceChildren(...parts);
}

function showSignIn() {
  const msg = el("p", { id: "sign-in-error", class: "error", role: "alert", hidden: true });
  const form = el("form", { id: "sign-in-form", class: "form" },
    el("label", {}, t("username"), el("input", { name: "username", id: "sign-in-user", autocomplete: "username", required: true })),
    el("label", {}, t("password"), el("input", { name: "password", id: "sign-in-password", type: "password", autocomplete: "current-password", required: true })),
    msg, el("button", { type: "submit", class: "primary", text: t("sign_in") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = new URLSearchParams({ username: form.username.value, password: form.password.value });
    const r = await fetch("/auth/token", { method: "POST", body });
    if (!r.ok) { msg.hidden = false; msg.textContent = r.status === 401 || r.status === 400 ? t("sign_in_failed") : await app().apiError(r); return; }
    session.token = (await r.json()).access_token;
    const me = await api("/auth/me");
    session.user = await me.json();
    try { sessionStorage.setItem("token", session.token); } catch { /* private mode */ }
    renderRoleTools();
    if ($("#planner-tools")) showPlans(); else app().openPanel(t("signed_in"), el("p", { text: `${t("signed_in")}: ${session.user.name}` }));
  });
  app().openPanel(t("sign_in"), form);
  $("#sign-in-user").focus();
}

async function signOut() {
  if (session.token) fetch("/auth/revoke", { method: "POST", headers: auth() }).catch(() => {});
  Object.assign(session, { token: null, user: null, zone: null, etag: null, editing: false });
  try { sessionStorage.removeItem("token"); } catch { /* private mode */ }
  showDraftLayer(null);
  renderRoleTools();
}

// ---------- plans and drafts ----------
async function showPlans() {
  const r = await api("/plans");
  if (!r.ok) { app().openPanel(t("planner_tools"), el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  const plans = (await r.json()).plans;
  const codes = [...new Set(plans.map((p) => p.code))];
  const list = el("ul", { class: "plans" }, codes.map((code) => {
    const versions = plans.filter((p) => p.code === code);
    const draft = versions.find((p) => p.status === "draft");
    const approved = versions.find((p) => p.status === "approved");
    const label = `${code} · ${(approved || draft || versions[0]).name || ""}`;
    return el("li", { "data-plan": code }, el("div", { text: label }),
      el("div", { class: "muted", text: versions.map((v) => `v${v.version} ${t("status_" + v.status)}`).join(", ") }),
      draft ? el("button", { type: "button", class: "primary", text: t("edit_draft"), onclick: () => openDraft(code) })
            : el("button", { type: "button", text: t("start_draft"), onclick: () => startDraft(code) }));
  }));
  app().openPanel(t("planner_tools"), list);
}

async function startDraft(code) {
  const r = await api(`/plans/${encodeURIComponent(code)}/drafts`, { method: "POST", headers: { "X-Change-Reason": encodeURIComponent(t("draft_reason")) } });
  if (!r.ok) { app().openPanel(t("planner_tools"), el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  await openDraft(code);
}

async function openDraft(code) {
  const r = await api(`/viewer/draft-zones?plan=${encodeURIComponent(code)}`);
  if (!r.ok) { app().openPanel(t("planner_tools"), el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  session.draft = await r.json();
  session.plan = code;
  showDraftLayer(session.draft);
  app().openPanel(t("planner_tools"), el("p", { id: "draft-info", text: t("draft_hint", { code, version: session.draft.plan.version, n: session.draft.features.length }) }));
}

function showDraftLayer(collection) {
  const map = app().map2d.map;
  const empty = { type: "FeatureCollection", features: [] };
  if (!map.getSource("draft")) {
    map.addSource("draft", { type: "geojson", data: empty, promoteId: "id" });
    map.addSource("vertices", { type: "geojson", data: empty });
    map.addLayer({ id: "draft-fill", type: "fill", source: "draft",
      paint: { "fill-color": ["coalesce", ["get", "color"], "#ccc"], "fill-opacity": ["case", ["boolean", ["feature-state", "selected"], false], 0.7, 0.35] } });
    map.addLayer({ id: "draft-line", type: "line", source: "draft",
      paint: { "line-color": ["case", ["boolean", ["feature-state", "selected"], false], "#6a1b9a", "#333"],
               "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 1], "line-dasharray": [3, 2] } });
    map.addLayer({ id: "vertices", type: "circle", source: "vertices",
      paint: { "circle-radius": 6, "circle-color": "#fff", "circle-stroke-color": "#6a1b9a", "circle-stroke-width": 2 } });
    enableVertexDrag(map);
  }
  map.getSource("draft").setData(collection || empty);
  map.getSource("vertices").setData(empty);
}

// ---------- select and edit ----------
function onMapClick(p) {
  if (!session.draft || !session.user) return false;
  const map = app().map2d.map;
  if (session.editing) return true; // while moving vertices a click does nothing else
  const hits = map.queryRenderedFeatures([p.x, p.y], { layers: ["draft-fill"] });
  if (!hits.length) return false;
  selectZone(hits[0].id);
  return true;
}

export async function selectZone(id) {
  const map = app().map2d.map;
  if (session.zone) map.setFeatureState({ source: "draft", id: session.zone.id }, { selected: false });
  const r = await api(`/ogc/collections/zones/items/${id}?f=json`);
  if (!r.ok) { app().openPanel(t("edit_zone"), el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  session.zone = await r.json();
  session.etag = r.headers.get("ETag");
  session.geometry = null;
  session.editing = false;
  map.setFeatureState({ source: "draft", id }, { selected: true });
  renderEditForm();
}

function renderEditForm(message = null) {
  const z = session.zone;
  const props = z.properties;
  const inputs = fields().map(([key, kind, label]) => el("label", {}, label,
    el("input", { name: key, id: `edit-${key}`, value: props[key] ?? "", inputmode: kind === "text" ? null : "decimal" })));
  const reason = el("label", {}, t("change_reason"), el("input", { name: "reason", id: "edit-reason", required: true }));
  const msg = message || el("p", { id: "edit-message", hidden: true });
  const form = el("form", { id: "edit-form", class: "form", novalidate: true }, inputs, reason, msg,
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary", id: "edit-save", text: t("save") }),
      el("button", { type: "button", id: "edit-geometry", "aria-pressed": String(session.editing), text: t("edit_geometry"), onclick: toggleVertices }),
      el("button", { type: "button", id: "edit-history", text: t("history"), onclick: showHistory })));
  form.addEventListener("submit", (e) => { e.preventDefault(); save(form); });
  app().openPanel(`${t("edit_zone")} ${props.zone_code || z.id} · ${t("version")} ${props.row_version}`, form);
}

function patchOf(form) {
  const props = session.zone.properties;
  const changed = {};
  for (const [key, kind, label] of fields()) {
    const raw = form[key].value.trim();
    let value = raw === "" ? null : kind === "text" ? raw : Number(raw.replace(",", "."));
    if (kind === "int" && value !== null) value = Math.round(value);
    if (value !== null && kind !== "text" && !Number.isFinite(value)) throw new Error(`${label}: ${t("not_a_number")}`);
    if (value !== (props[key] ?? null)) changed[key] = value;
  }
  const patch = { type: "Feature" };
  if (Object.keys(changed).length) patch.properties = changed;
  if (session.geometry) patch.geometry = session.geometry;
  return patch;
}

async function save(form) {
  const msg = $("#edit-message");
  const show = (cls, text) => { msg.hidden = false; msg.className = cls; msg.setAttribute("role", "alert"); msg.textContent = text; };
  const reason = form.reason.value.trim();
  if (!reason) { show("error", t("reason_needed")); form.reason.focus(); return; }
  let patch;
  try { patch = patchOf(form); } catch (e) { show("error", e.message); return; }
  if (!patch.properties && !patch.geometry) { show("muted", t("nothing_changed")); return; }
  const r = await api(`/ogc/collections/zones/items/${session.zone.id}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json", "If-Match": session.etag,
               "X-Change-Reason": encodeURIComponent(reason), "Content-Crs": CRS84 },
    body: JSON.stringify(patch),
  });
  if (r.status === 412) {
    show("error", t("conflict_412"));
    msg.append(" ", el("button", { type: "button", id: "reload-zone", text: t("reload"), onclick: () => selectZone(session.zone.id) }));
    return;
  }
  if (!r.ok) { show("error", await app().apiError(r)); return; }
  session.zone = await r.json();
  session.etag = r.headers.get("ETag");
  session.geometry = null;
  session.editing = false;
  await refreshDraft();
  const ok = el("p", { id: "edit-message", class: "ok", role: "status", text: t("saved", { version: session.zone.properties.row_version }) });
  renderEditForm(ok);
}

async function refreshDraft() {
  const r = await api(`/viewer/draft-zones?plan=${encodeURIComponent(session.plan)}`);
  if (r.ok) { session.draft = await r.json(); showDraftLayer(session.draft); }
  if (session.zone) app().map2d.map.setFeatureState({ source: "draft", id: session.zone.id }, { selected: true });
}

// ---------- vertex editing (2D) ----------
function currentRing() {
  const draftFeature = session.draft.features.find((f) => f.id === session.zone.id);
  const geometry = session.geometry || (draftFeature && draftFeature.geometry);
  return geometry;
}

function vertexCollection(geometry) {
  const features = [];
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  polys.forEach((poly, pi) => poly.forEach((ring, ri) => ring.slice(0, -1).forEach((c, vi) =>
    features.push({ type: "Feature", geometry: { type: "Point", coordinates: c }, properties: { pi, ri, vi } }))));
  return { type: "FeatureCollection", features };
}

function toggleVertices() {
  const map = app().map2d.map;
  session.editing = !session.editing;
  $("#edit-geometry").setAttribute("aria-pressed", String(session.editing));
  if (!session.editing) { map.getSource("vertices").setData({ type: "FeatureCollection", features: [] }); return; }
  if (!session.geometry) session.geometry = JSON.parse(JSON.stringify(currentRing()));
  map.getSource("vertices").setData(vertexCollection(session.geometry));
}

export function moveVertex(pi, ri, vi, lngLat) {
  const g = session.geometry;
  const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
  const ring = polys[pi][ri];
  ring[vi] = [lngLat[0], lngLat[1]];
  if (vi === 0) ring[ring.length - 1] = [lngLat[0], lngLat[1]];
  const map = app().map2d.map;
  map.getSource("vertices").setData(vertexCollection(g));
  const draft = JSON.parse(JSON.stringify(session.draft));
  const f = draft.features.find((x) => x.id === session.zone.id);
  if (f) f.geometry = g;
  map.getSource("draft").setData(draft);
}

function enableVertexDrag(map) {
  let dragging = null;
  map.on("mousedown", "vertices", (e) => {
    if (!session.editing) return;
    e.preventDefault();
    dragging = e.features[0].properties;
    map.getCanvas().style.cursor = "grabbing";
  });
  map.on("mousemove", (e) => {
    if (dragging) moveVertex(dragging.pi, dragging.ri, dragging.vi, [e.lngLat.lng, e.lngLat.lat]);
  });
  map.on("mouseup", () => { dragging = null; map.getCanvas().style.cursor = ""; });
}

// ---------- history and restore ----------
async function showHistory() {
  const r = await api(`/ogc/collections/zones/items/${session.zone.id}/history`);
  if (!r.ok) { app().openPanel(t("history"), el("p", { class: "error", role: "alert", text: await app().apiError(r) })); return; }
  const history = await r.json();
  const reason = el("label", {}, t("change_reason"), el("input", { id: "restore-reason" }));
  const rows = history.changes.slice().reverse().map((c) => el("tr", { "data-version": c.version },
    el("td", { text: `v${c.version}` }), el("td", { text: t("op_" + c.operation) }),
    el("td", { text: c.changed_by }), el("td", { text: new Date(c.changed_at).toLocaleString(document.documentElement.lang) }),
    el("td", { class: "reason", text: c.reason || "" }),
    el("td", {}, c.after && c.version !== session.zone.properties.row_version
      ? el("button", { type: "button", text: t("restore"), onclick: () => restore(c.version) }) : "")));
  const table = el("table", { class: "rules", id: "history-table" },
    el("thead", {}, el("tr", {}, ["version", "operation", "changed_by", "changed_at", "change_reason", ""].map((k) => el("th", { text: k ? t(k) : "" })))),
    el("tbody", {}, rows));
  const msg = el("p", { id: "history-message", hidden: true });
  app().openPanel(`${t("history")} · ${session.zone.properties.zone_code || session.zone.id}`, table, reason, msg,
    el("div", { class: "actions" }, el("button", { type: "button", text: t("back"), onclick: () => renderEditForm() })));
}

async function restore(version) {
  const reason = $("#restore-reason").value.trim();
  const msg = $("#history-message");
  if (!reason) { msg.hidden = false; msg.className = "error"; msg.textContent = t("reason_needed"); $("#restore-reason").focus(); return; }
  const r = await api(`/ogc/collections/zones/items/${session.zone.id}/history/${version}/restore`, {
    method: "POST", headers: { "If-Match": session.etag, "X-Change-Reason": encodeURIComponent(reason) } });
  if (!r.ok) { msg.hidden = false; msg.className = "error"; msg.textContent = r.status === 412 ? t("conflict_412") : await app().apiError(r); return; }
  session.zone = await r.json();
  session.etag = r.headers.get("ETag");
  await refreshDraft();
  await showHistory();
}

// ---------- start ----------
function init() {
  const a = app();
  a.clickHandlers.push(onMapClick);
  a.tools.push({ onLanguage: renderRoleTools });
  a.planner = { session, selectZone, moveVertex, openDraft };
  try { session.token = sessionStorage.getItem("token"); } catch { /* private mode */ }
  if (session.token) {
    fetch("/auth/me", { headers: auth() }).then(async (r) => {
      if (r.ok) session.user = await r.json(); else session.token = null;
      renderRoleTools();
    });
  }
  renderRoleTools();
}

if (window.viewerApp && window.viewerApp.started) init();
else document.addEventListener("viewer-ready", init, { once: true });
export { formatNumber };
