// Permit checks: draw or upload a footprint, floors/height/use -> the rule table of POST /permits/check, failed rules
// on the map (zones, the red line and the measured setback), printable report (PDF), officers record a decision.
import { t, lang, localName, formatNumber } from "./i18n.js";

const state = { drawing: false, points: [], footprint: null, crs: "CRS84", result: null, request: null, uses: null };
const $ = (s) => document.querySelector(s);
function app() { return window.viewerApp; }
function el(...a) { return app().el(...a); }
function token() { return app().planner && app().planner.session.token; }
function role() { const u = app().planner && app().planner.session.user; return u ? u.role : null; }
function headers(extra = {}) { return token() ? { Authorization: `Bearer ${token()}`, ...extra } : extra; }

// ---------- the form ----------
async function showForm() {
  if (!state.uses) {
    const r = await fetch("/permits/uses");
    state.uses = r.ok ? await r.json() : { categories: [] };
  }
  const parcel = app().answer && app().answer.parcel;
  // the values of a proposal checked from the parcel's envelope, kept for "Back"
  const pre = state.prefill && parcel && state.prefill.parcel_id === parcel.id ? state.prefill : {};
  const num = (name, label, value = "") => el("label", {}, t(label),
    el("input", { id: `permit-${name}`, name, inputmode: "decimal", value: pre[name] ?? value }));
  const useSelect = el("select", { id: "permit-use", name: "use" },
    state.uses.categories.map((c) => el("option", { value: c.id, text: localName(c), selected: c.id === pre.use })));
  const file = el("input", { type: "file", id: "permit-file", accept: ".geojson,.json,application/geo+json" });
  file.addEventListener("change", () => file.files[0] && readFootprintFile(file.files[0]));
  const form = el("form", { id: "permit-form", class: "form", novalidate: true },
    el("p", { class: "muted", id: "permit-parcel", text: parcel ? `${t("parcel_title")}: ${t("sheet_parcel", { sheet: parcel.sheet_no, parcel: parcel.parcel_no })}, ${parcel.ward}` : t("permit_pick_parcel") }),
    el("fieldset", {}, el("legend", { text: t("footprint") }),
      el("div", { class: "actions" },
        el("button", { type: "button", id: "permit-draw", "aria-pressed": String(state.drawing), text: t("draw_footprint"), onclick: toggleDrawing }),
        el("button", { type: "button", id: "permit-finish", text: t("finish_drawing"), onclick: finishDrawing })),
      el("label", {}, t("upload_footprint"), file),
      el("p", { id: "permit-footprint-info", class: "muted", text: footprintInfo() })),
    num("floors", "floors"), num("basements", "basements", "0"), num("height_m", "height_m_label"),
    num("total_floor_area_m2", "total_floor_area"), el("label", {}, t("use"), useSelect),
    el("p", { id: "permit-message", hidden: true }),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", id: "permit-run", text: t("run_check") })));
  form.addEventListener("submit", (e) => { e.preventDefault(); runCheck(form); });
  app().openPanel(t("permit_check"), form).classList.add("wide");
}

function footprintInfo() {
  if (state.footprint) return t("footprint_ready", { n: state.footprint.coordinates[0].length - 1 });
  if (state.drawing) return t("drawing_hint", { n: state.points.length });
  return t("no_footprint");
}

function say(cls, text) {
  const m = $("#permit-message");
  if (!m) return;
  m.hidden = false; m.className = cls; m.setAttribute("role", "alert"); m.textContent = text;
}

// ---------- footprint: drawn on the 2D map, or a GeoJSON file ----------
function toggleDrawing() {
  state.drawing = !state.drawing;
  if (state.drawing) { state.points = []; state.footprint = null; }
  $("#permit-draw").setAttribute("aria-pressed", String(state.drawing));
  $("#permit-footprint-info").textContent = footprintInfo();
  drawShapes();
}

function onMapClick(p) {
  if (!state.drawing) return false;
  state.points.push([p.lon, p.lat]);
  $("#permit-footprint-info").textContent = footprintInfo();
  drawShapes();
  return true;
}

function finishDrawing() {
  if (state.points.length < 3) { say("error", t("need_three_points")); return; }
  state.footprint = { type: "Polygon", coordinates: [[...state.points, state.points[0]]] };
  state.crs = "CRS84";
  state.drawing = false;
  $("#permit-draw").setAttribute("aria-pressed", "false");
  $("#permit-footprint-info").textContent = footprintInfo();
  drawShapes();
}

async function readFootprintFile(file) {
  try {
    const data = JSON.parse(await file.text());
    const features = data.type === "FeatureCollection" ? data.features : data.type === "Feature" ? [data] : [{ geometry: data }];
    const g = features.map((f) => f.geometry).find((x) => x && (x.type === "Polygon" || x.type === "MultiPolygon"));
    if (!g) throw new Error(t("file_no_polygon"));
    const crsName = data.crs && data.crs.properties && data.crs.properties.name || "";
    state.crs = /9214/.test(crsName) ? "EPSG:9214" : "CRS84";
    state.footprint = g.type === "MultiPolygon" ? { type: "Polygon", coordinates: g.coordinates[0] } : g;
    state.drawing = false;
    $("#permit-footprint-info").textContent = `${file.name}: ${footprintInfo()}`;
    drawShapes();
  } catch (e) {
    say("error", `${t("file_unreadable")} ${file.name}: ${e.message}`);
  }
}

function drawShapes(extra = []) {
  const features = [...extra];
  if (state.footprint && state.crs === "CRS84") features.push({ type: "Feature", geometry: state.footprint, properties: { color: state.result && state.result.failed.length ? "#c62828" : "#1565c0" } });
  else if (state.points.length) {
    features.push({ type: "Feature", geometry: { type: "LineString", coordinates: state.points }, properties: { color: "#1565c0" } });
    for (const c of state.points) features.push({ type: "Feature", geometry: { type: "Point", coordinates: c }, properties: { color: "#1565c0" } });
  }
  app().map2d.showShapes({ type: "FeatureCollection", features });
}

// ---------- the check ----------
function requestOf(form) {
  const parcel = app().answer && app().answer.parcel;
  if (!parcel) throw new Error(t("permit_pick_parcel"));
  if (!state.footprint) throw new Error(t("no_footprint"));
  const body = { parcel_id: parcel.id, footprint: state.footprint, crs: state.crs, use: form.use.value };
  for (const [name, int] of [["floors", true], ["basements", true], ["height_m", false], ["total_floor_area_m2", false]]) {
    const raw = form[name].value.trim().replace(",", ".");
    if (raw === "") continue;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${t(name === "height_m" ? "height_m_label" : name === "total_floor_area_m2" ? "total_floor_area" : name)}: ${t("not_a_number")}`);
    body[name] = int ? Math.round(v) : v;
  }
  return body;
}

async function runCheck(form) {
  let body;
  try { body = requestOf(form); } catch (e) { say("error", e.message); return; }
  const r = await fetch("/permits/check", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) { say("error", await app().apiError(r)); return; }
  state.request = body;
  state.result = await r.json();
  await renderResult();
}

// A ready proposal (the largest building of a parcel's envelope: its max_proposal), checked at once. The form keeps its
// footprint, floors, height, floor area and use for "Back".
async function checkProposal(body, { category = null } = {}) {
  state.drawing = false;
  state.points = [];
  state.footprint = body.footprint;
  state.crs = body.crs || "CRS84";
  state.prefill = { parcel_id: body.parcel_id, floors: body.floors, height_m: body.height_m,
                    total_floor_area_m2: body.total_floor_area_m2, use: category || body.use };
  const r = await fetch("/permits/check", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) { await showForm(); say("error", await app().apiError(r)); return; }
  state.request = body;
  state.result = await r.json();
  await renderResult();
}

function ruleName(id) { return t("rule_" + id); }

function fmt(v, unit) {
  if (v === null || v === undefined) return "—";
  const units = { floors: t("floors_unit"), ratio: "" };
  const u = unit in units ? units[unit] : unit;
  return typeof v === "number" ? `${formatNumber(v, 3)}${u ? " " + u : ""}` : String(v);
}

async function renderResult() {
  const res = state.result;
  const verdictClass = res.verdict === "compliant" ? "ok" : res.verdict === "not_compliant" ? "error" : "muted";
  const rows = res.rules.map((rule) => el("tr", { class: rule.status, "data-rule": rule.id },
    el("td", { text: ruleName(rule.id) + (rule.zone ? ` (${rule.zone.zone_code})` : "") }),
    el("td", { text: fmt(rule.value, rule.unit) }), el("td", { text: fmt(rule.limit, rule.unit) }),
    el("td", { class: "rule-status", text: t("status_" + rule.status) }),
    el("td", {}, el("div", { text: lang() === "en" ? rule.message_en : rule.message_vi }), el("div", { class: "muted", text: rule.source || "" }))));
  const table = el("table", { class: "rules", id: "permit-rules" },
    el("thead", {}, el("tr", {}, ["rule", "measured", "limit", "result", "explanation"].map((k) => el("th", { text: t("col_" + k) })))),
    el("tbody", {}, rows));
  const p = res.plan || {};
  const parts = [
    el("p", { id: "permit-verdict", class: verdictClass, role: "status", text: `${t("verdict")}: ${t("verdict_" + res.verdict)}` +
      (res.failed.length ? ` — ${t("failed_rules")}: ${res.failed.map(ruleName).join(", ")}` : "") }),
    table,
    el("p", { class: "muted", text: `${t("plan")}: ${p.name || ""} ${p.code || ""} v${p.version ?? ""} · ${t("decision")} ${p.decision_no || "—"} ${p.decision_date || ""}` }),
    el("div", { class: "actions" },
      el("button", { type: "button", text: t("print"), onclick: () => window.print() }),
      el("button", { type: "button", id: "permit-pdf", text: t("pdf_report"), onclick: downloadPdf }),
      el("button", { type: "button", text: t("back"), onclick: showForm })),
  ];
  if (role() === "permit_officer" || role() === "admin") parts.push(decisionForm());
  app().openPanel(t("permit_result"), ...parts).classList.add("wide");
  state.drawn = false;
  await drawFailures();
  state.drawn = true;
}

// Failed rules on the map: the zones they concern, the red line and the measured setback.
async function drawFailures() {
  const res = state.result;
  const failed = res.rules.filter((r) => r.status === "fail");
  const zones = failed.filter((r) => r.zone).map((r) => ({ id: r.zone.id }));
  app().map2d.highlight({ parcel: app().answer && app().answer.parcel, zones });
  const extra = [];
  if (res.red_line && res.red_line.id) {
    const r = await fetch(`/ogc/collections/red_lines/items/${res.red_line.id}?f=json`);
    if (r.ok) {
      const line = await r.json();
      const fail = failed.some((x) => x.id === "red_line_setback");
      extra.push({ type: "Feature", geometry: line.geometry, properties: { color: fail ? "#c62828" : "#e31a1c" } });
      if (state.footprint && state.crs === "CRS84") {
        const seg = nearestSegment(state.footprint.coordinates[0], linesOf(line.geometry));
        if (seg) extra.push({ type: "Feature", geometry: { type: "LineString", coordinates: seg }, properties: { kind: "measure", color: fail ? "#c62828" : "#2e7d32" } });
      }
    }
  }
  drawShapes(extra);
  if (state.footprint && state.crs === "CRS84") {
    const pts = state.footprint.coordinates[0].concat(extra.filter((f) => f.properties.kind === "measure").flatMap((f) => f.geometry.coordinates));
    const xs = pts.map((c) => c[0]), ys = pts.map((c) => c[1]);
    app().map2d.map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60, maxZoom: 19.5, duration: 0 });
  }
}

function linesOf(g) {
  if (g.type === "LineString") return [g.coordinates];
  if (g.type === "MultiLineString") return g.coordinates;
  return [];
}

// The shortest segment between a ring and polylines (local metric approximation; the distance shown is the server's).
function nearestSegment(ring, lines) {
  const k = Math.cos((ring[0][1] * Math.PI) / 180);
  const P = (c) => [c[0] * k, c[1]];
  const closest = (p, a, b) => {
    const [px, py] = P(p), [ax, ay] = P(a), [bx, by] = P(b);
    const dx = bx - ax, dy = by - ay;
    const tt = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
    const q = [a[0] + tt * (b[0] - a[0]), a[1] + tt * (b[1] - a[1])];
    const [qx, qy] = P(q);
    return [Math.hypot(px - qx, py - qy), q];
  };
  let best = null;
  for (const line of lines) for (let i = 0; i + 1 < line.length; i++) for (const v of ring) {
    const [d, q] = closest(v, line[i], line[i + 1]);
    if (!best || d < best[0]) best = [d, [v, q]];
  }
  for (let i = 0; i + 1 < ring.length; i++) for (const line of lines) for (const v of line) {
    const [d, q] = closest(v, ring[i], ring[i + 1]);
    if (!best || d < best[0]) best = [d, [q, v]];
  }
  return best && best[1];
}

async function downloadPdf() {
  const r = await fetch(`/permits/check/report.pdf?lang=${lang()}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.request) });
  if (!r.ok) { app().status(await app().apiError(r)); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: `kiem-tra-cap-phep-${lang()}.pdf`, id: "permit-pdf-link" });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------- officers: record the check and a decision ----------
function decisionForm() {
  const form = el("form", { id: "decision-form", class: "form", novalidate: true },
    el("h3", { text: t("record_decision") }),
    el("label", {}, t("reference"), el("input", { id: "decision-reference", name: "reference" })),
    el("label", {}, t("applicant"), el("input", { id: "decision-applicant", name: "applicant" })),
    el("label", {}, t("decision_label"), el("select", { id: "decision-kind", name: "decision" },
      ["approve", "reject", "request_changes"].map((d) => el("option", { value: d, text: t("decision_" + d) })))),
    el("label", {}, t("comment"), el("input", { id: "decision-comment", name: "comment" })),
    el("p", { id: "decision-message", hidden: true }),
    el("button", { type: "submit", class: "primary", id: "decision-save", text: t("record_decision") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const msg = $("#decision-message");
    const show = (cls, text) => { msg.hidden = false; msg.className = cls; msg.setAttribute("role", "alert"); msg.textContent = text; };
    const f = form;
    if (!f.reference.value.trim() || !f.applicant.value.trim() || !f.comment.value.trim()) { show("error", t("decision_fields_needed")); return; }
    const json = { "Content-Type": "application/json" };
    let r = await fetch("/permits/applications", { method: "POST", headers: headers(json),
      body: JSON.stringify({ reference: f.reference.value.trim(), applicant_name: f.applicant.value.trim() }) });
    if (!r.ok) { show("error", await app().apiError(r)); return; }
    const application = await r.json();
    r = await fetch(`/permits/applications/${application.id}/checks`, { method: "POST", headers: headers(json), body: JSON.stringify(state.request) });
    if (!r.ok) { show("error", await app().apiError(r)); return; }
    const check = await r.json();
    r = await fetch(`/permits/applications/${application.id}/decisions`, { method: "POST", headers: headers(json),
      body: JSON.stringify({ decision: f.decision.value, comment: f.comment.value.trim(), check_id: check.check_id }) });
    if (!r.ok) { show("error", await app().apiError(r)); return; }
    show("ok", t("decision_recorded", { ref: f.reference.value.trim(), id: application.id }));
    msg.dataset.application = application.id;
  });
  return form;
}

// ---------- start ----------
function init() {
  const a = app();
  a.clickHandlers.unshift(onMapClick);
  const button = el("button", { type: "button", id: "permit-tools", text: t("permit_check"), onclick: showForm });
  $("#role-tools").before(button);
  a.tools.push({ onLanguage: () => { button.textContent = t("permit_check"); } });
  a.permits = { state, showForm, checkProposal };
}

if (window.viewerApp && window.viewerApp.started) init();
else document.addEventListener("viewer-ready", init, { once: true });
