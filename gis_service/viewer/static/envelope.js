// What may be built on the looked-up parcel (its buildable envelope, computed by the permit check's own rules):
// the panel's section with the figures and what bounds each, the 2D drawing (road land, buildable area, largest
// footprint) and the 3D solid. The lookup answer carries the figures; the geometry, the solid and the largest
// proposal come from /parcels/{id}/envelope, fetched once per parcel.
import { t, lang, localName, formatNumber } from "./i18n.js";

const app = () => window.viewerApp;
const el = (...a) => app().el(...a);
const full = new Map(); // parcel id -> Promise of /parcels/{id}/envelope (CRS84)
let uses = null; // Promise of /permits/uses: the building-use categories' names

export function fetchEnvelope(id) {
  if (!full.has(id)) {
    full.set(id, fetch(`/parcels/${id}/envelope`).then(async (r) => {
      if (!r.ok) throw new Error(await app().apiError(r));
      return r.json();
    }));
    full.get(id).catch(() => full.delete(id));
  }
  return full.get(id);
}

function categoryName(id) {
  if (!uses) uses = fetch("/permits/uses").then((r) => (r.ok ? r.json() : { categories: [] })).catch(() => ({ categories: [] }));
  return uses.then((u) => (u.categories || []).find((c) => c.id === id));
}

// ---------- the panel ----------

const m2 = (v) => `${formatNumber(v)} m²`;
const confidencePct = (c) => formatNumber(c <= 1 ? c * 100 : c, 0);

// The mark of a figure whose basis is not a plain value: no limit, no data, a scanned draft.
function basisMark(basis, confidence) {
  if (basis === "no_limit") return el("span", { class: "basis basis-no_limit", text: t("basis_no_limit") });
  if (basis === "no_data") return el("span", { class: "basis basis-no_data", text: `⚠ ${t("basis_no_data")}` });
  if (basis === "scanned_draft") {
    const text = confidence !== null && confidence !== undefined
      ? t("basis_scanned_conf", { pct: confidencePct(confidence) }) : t("basis_scanned");
    return el("span", { class: "basis basis-scanned_draft", text: `⚠ ${text}` });
  }
  return null;
}

// What bounds a figure, in words: "mật độ 60 % — QĐ …, ô ÔQH-12"; a source the figure above already gave is not
// repeated in full (`previous`).
function boundText(key, c, env, previous) {
  const lim = c.limit;
  let what = "";
  if (lim !== null && lim !== undefined) {
    if (c.rule === "density") {
      what = t("bound_density", { pct: formatNumber(lim) });
      if (c.value !== null && c.value > 0 && env.buildable_area_m2 - c.value < Math.max(0.5, 0.005 * c.value)) {
        what = t("bound_density_not_reached", { pct: formatNumber(lim) });
      }
    } else if (c.rule === "far") what = t("bound_far", { far: formatNumber(lim) });
    else if (c.rule === "floors" && key === "floor_area_m2") what = t("bound_floors_area", { n: formatNumber(lim, 0) });
  }
  const source = c.source && c.source === previous ? t("source_as_above") : c.source;
  return [what, source].filter(Boolean).join(" — ");
}

const FIGURES = [
  // key, label, format of the value
  ["footprint_m2", "env_footprint", m2],
  ["floors", "env_floors", (v) => `${formatNumber(v, 0)} ${t("floors_unit")}`],
  ["height_m", "env_height", (v) => `${formatNumber(v)} m`],
  ["floor_area_m2", "env_floor_area", m2],
  ["min_ground_elev_m", "env_ground", (v) => `${formatNumber(v)} m`],
];

// One figure: its name and value on a line, what bounds it (and the mark of its basis) under them.
function figure(key, label, value, { bound = "", mark = null, basis = null } = {}) {
  return el("div", { class: "fig", "data-figure": key, "data-basis": basis },
    el("dt", { text: t(label) }), el("dd", { class: "figure", text: value }),
    bound || mark ? el("dd", { class: "bound" }, mark, mark && bound ? " " : null, bound) : null);
}

function capacityFigure(key, label, format, env, previous) {
  const c = (env.capacity || {})[key];
  if (!c) return null;
  const none = c.value === null || c.value === undefined;
  const value = none ? (c.basis === "no_limit" ? t("basis_no_limit") : "—") : format(c.value);
  const mark = c.basis === "no_limit" && none ? null : basisMark(c.basis, c.confidence);
  return figure(key, label, value, { bound: boundText(key, c, env, previous), mark, basis: c.basis });
}

function frontItem(f) {
  const setback = Math.max(f.building_line_setback_m || 0, f.qcvn_setback_m || 0);
  const how = f.rule === "building_line" ? t("front_building_line") : t("front_qcvn");
  const width = f.width_m ? ` (${t("road_width", { w: formatNumber(f.width_m) })})` : "";
  return el("li", { "data-road": f.road_name || "" },
    el("strong", { text: `${f.road_name || t("unnamed_road")}${width}` }), ": ",
    setback > 0 ? t("front_setback", { m: formatNumber(setback), how }) : t("front_no_setback"),
    f.frontage_m ? `; ${t("front_length", { m: formatNumber(f.frontage_m, 1) })}` : "");
}

function accessText(a) {
  if (!a || a.kind === "none") return t("access_none");
  if (a.kind === "road") return t("access_road", { roads: (a.roads || []).join(", ") });
  const width = a.width_m ? ` (${t("alley_width", { w: formatNumber(a.width_m) })})` : "";
  return t("access_alley", { name: a.name || "" }).trim() + width;
}

function zonesTable(zones) {
  const rows = zones.map((z) => el("tr", { "data-zone": z.zone_code || "" },
    el("td", { text: z.zone_code || "" }), el("td", { text: formatNumber(z.buildable_m2) }),
    el("td", { text: formatNumber(z.footprint_m2) }), el("td", { text: z.floors ?? "—" }),
    el("td", { text: z.height_m === null || z.height_m === undefined ? "—" : formatNumber(z.height_m) })));
  return el("table", { class: "rules env-zones" },
    el("thead", {}, el("tr", {}, ["zone", "env_col_buildable", "env_col_footprint", "env_col_floors", "env_col_height"]
      .map((k) => el("th", { text: t(k) })))),
    el("tbody", {}, rows));
}

// The section "What may be built here" of a parcel's lookup answer (null without an envelope).
export function envelopeSection(answer) {
  const env = answer.envelope;
  const parcel = answer.parcel;
  if (!env || !parcel) return null;
  const status = el("p", { class: `env-status ${env.status}`, id: "envelope-status", "data-status": env.status },
    t("env_status_" + env.status));
  const use = el("span", { class: "env-use", text: env.use || "" });
  if (env.category) {
    categoryName(env.category).then((c) => { if (c) use.textContent = `${localName(c)} (${env.use})`; });
  }
  const rows = [
    el("div", { class: "fig" }, el("dt", { text: t("env_use") }), el("dd", {}, use)),
    figure("lot_area_m2", "env_lot", m2(env.lot_area_m2),
           { bound: env.road_area_m2 >= 0.1 ? t("env_road_part", { area: m2(env.road_area_m2) }) : "" }),
    figure("buildable_area_m2", "env_buildable", m2(env.buildable_area_m2), { bound: t("env_buildable_hint") }),
  ];
  let previous = null;
  for (const [key, label, format] of FIGURES) {
    rows.push(capacityFigure(key, label, format, env, previous));
    previous = ((env.capacity || {})[key] || {}).source || previous;
  }
  const parts = [el("h3", { text: t("env_title") }), status, el("dl", { class: "env-figures" }, rows)];
  if (answer.plan_data === "scanned_draft") parts.push(el("p", { class: "basis-note", text: `⚠ ${t("plan_data_scanned")}` }));
  if ((env.zones || []).length > 1) parts.push(el("h4", { text: t("env_by_zone") }), zonesTable(env.zones));
  const fronts = env.fronts || [];
  parts.push(el("dl", { class: "env-access" },
    fronts.length ? [el("dt", { text: t("env_fronts") }), el("dd", {}, el("ul", { class: "env-fronts" }, fronts.map(frontItem)))] : [],
    el("dt", { text: t("env_access") }),
    el("dd", { "data-access": env.access ? env.access.kind : "none", class: env.access && env.access.kind === "none" ? "warn-text" : null,
               text: accessText(env.access) })));
  const notes = (lang() === "en" ? env.notes_en : env.notes_vi) || [];
  if (notes.length) parts.push(el("ul", { class: "env-notes" }, notes.map((n) => el("li", { text: n }))));
  parts.push(el("ul", { class: "env-legend", "aria-label": t("env_legend") },
    env.road_area_m2 >= 0.1 ? el("li", {}, el("span", { class: "swatch env-road" }), t("env_legend_road")) : null,
    el("li", {}, el("span", { class: "swatch env-buildable" }), t("env_legend_buildable")),
    el("li", {}, el("span", { class: "swatch env-footprint" }), t("env_legend_footprint"))));
  const canBuild = env.status !== "not_buildable" && env.capacity && env.capacity.footprint_m2 && env.capacity.footprint_m2.value > 0;
  const actions = [];
  if (answer.as_of) return el("section", { id: "envelope", class: "envelope", "data-status": env.status }, parts); // the solid and a check are of today's plan
  if (app().view !== "3d") actions.push(el("button", { type: "button", id: "envelope-3d", text: t("env_view_3d"), onclick: view3D }));
  if (canBuild && app().permits && app().permits.checkProposal) {
    actions.push(el("button", { type: "button", id: "envelope-check", text: t("env_check_largest"), onclick: () => checkLargest(parcel.id) }));
  }
  if (actions.length) parts.push(el("div", { class: "actions" }, actions));
  return el("section", { id: "envelope", class: "envelope", "data-status": env.status }, parts);
}

async function view3D() {
  const a = app();
  if (a.view !== "3d") await a.show3D();
  const parcel = a.answer && a.answer.parcel;
  if (parcel && a.map3d) await drawEnvelope(parcel.id, { fly: true });
}

async function checkLargest(id) {
  const a = app();
  try {
    const env = await fetchEnvelope(id);
    if (!env.max_proposal) { a.status(t("env_nothing_to_check")); return; }
    await a.permits.checkProposal(env.max_proposal, { category: env.category });
  } catch (e) {
    a.status(`${t("error")}: ${e.message}`);
  }
}

// ---------- the maps ----------

// Draw the parcel's envelope on the 2D map and (once open) the 3D globe; `fly` frames it in 3D.
export async function drawEnvelope(id, { fly = false } = {}) {
  const a = app();
  let env;
  try {
    env = await fetchEnvelope(id);
  } catch (e) {
    a.errors.push(`envelope ${id}: ${e.message}`);
    return null;
  }
  if (!a.answer || !a.answer.parcel || a.answer.parcel.id !== id) return null; // another parcel was looked up meanwhile
  a.envelopeShown = id;
  a.map2d.showEnvelope(env);
  if (a.map3d) a.map3d.showEnvelope(env, { ground: a.config.ground_height_m || 0, fly, language: lang() });
  return env;
}

export function clearEnvelope() {
  const a = app();
  a.envelopeShown = null;
  a.map2d && a.map2d.showEnvelope(null);
  a.map3d && a.map3d.showEnvelope(null);
}
