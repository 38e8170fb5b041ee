// The plan on a date ("Quy hoạch tại ngày / Plan as of"): the date picker in the bar, which reloads the 2D plan tiles
// and the lookups with ?as_of=. Today (in Huế) asks with no date: the service's default, cached path. The 3D tiles
// always show today's plan.
import { t, lang } from "./i18n.js";

const app = () => window.viewerApp;
const ISO = /^\d{4}-\d{2}-\d{2}$/;

// Today in Huế (UTC+7, no daylight saving), as the service counts it: not the browser's own date.
export function todayInHue() {
  return new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
}

// A date the service can answer for, or null for today's plan (no date, a malformed one, today or later).
export function validAsOf(day) {
  return day && ISO.test(day) && day < todayInHue() ? day : null;
}

// `url` with the viewer's date, when one is chosen.
export function withAsOf(url) {
  const day = app().asOf;
  return day ? `${url}${url.includes("?") ? "&" : "?"}as_of=${day}` : url;
}

export function formatDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "vi-VN", { dateStyle: "long", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

// The panel's line naming the date and the plan versions in force then (null for today's plan).
export function asOfNote(answer) {
  const a = app();
  const asOf = answer.as_of;
  if (!asOf) return null;
  const date = formatDay(asOf.date);
  if (answer.plan_data === "no_plan_in_force") {
    return a.el("p", { id: "as-of-note", class: "warn-text", role: "note", "data-plan-data": "no_plan_in_force",
                       text: t("as_of_none", { date }) });
  }
  const plans = asOf.plans.map((p) => `${p.code} (${t("version")} ${p.version}, ${p.decision_no})`).join("; ");
  const parts = [t("as_of_in_force", { date }) + ": " + plans + "."];
  if (a.view === "3d") parts.push(t("as_of_3d_today"));
  return a.el("p", { id: "as-of-note", class: "as-of-note", role: "note", text: parts.join(" ") });
}

// Choose the date (null: today): the 2D tiles, the open lookup and the permalink follow.
export function setAsOf(day) {
  const a = app();
  a.asOf = validAsOf(day);
  // A draft under consultation is a proposal for today's plan: never drawn over a past one.
  if (a.asOf && a.consultation && a.consultation.state.shown) a.consultation.showDraft(false);
  const input = document.querySelector("#as-of");
  input.value = a.asOf || todayInHue();
  a.map2d && a.map2d.setAsOf(a.asOf);
  const open = a.answer;
  if (open && open.parcel) a.lookup(open.parcel.id);
  else if (open && open.location) a.lookup({ lon: open.location.lon, lat: open.location.lat });
  else a.writeHash();
}

export function setupAsOf(initial) {
  const a = app();
  a.asOf = validAsOf(initial);
  const input = document.querySelector("#as-of");
  input.max = todayInHue();
  input.value = a.asOf || todayInHue();
  input.addEventListener("change", () => setAsOf(input.value));
  document.querySelector("#as-of-today").addEventListener("click", () => setAsOf(null));
  a.setAsOf = setAsOf;
}
