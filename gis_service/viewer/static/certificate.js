// The planning-information certificate (phiếu thông tin quy hoạch) of the looked-up parcel: anyone gets a preview
// (POST /certificates, unnumbered, in the panel's language and for the viewer's date), permit officers and admins
// issue a numbered, signed one. The document arrives by fetch and opens from a blob: URL (the page's policy allows
// blob: and no inline script), so an error can be said in the panel instead of on a blank tab.
import { t, lang } from "./i18n.js";
import { formatDay } from "./asof.js";

const app = () => window.viewerApp;
const el = (...a) => app().el(...a);
const ISSUERS = ["permit_officer", "admin"];
let shown = null; // the object URL of the last document, released when the next one arrives

function user() {
  const p = app().planner;
  return p && p.session.user ? { ...p.session.user, token: p.session.token } : null;
}

// The error of a certificate request in plain words (the service's own description where it says more).
async function failure(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON */ }
  const plain = {
    401: "cert_error_401", 403: "cert_error_403", 503: "cert_error_503",
  }[response.status] || (body.code === "NoPlanInForce" ? "cert_error_no_plan" : response.status === 404 ? "cert_error_404" : null);
  if (plain) return t(plain);
  return `${t("cert_error")} (${response.status}): ${body.description || response.statusText}`;
}

function fileName(parcel, number, format) {
  const base = number || `phieu-thong-tin-quy-hoach-to-${parcel.sheet_no}-thua-${parcel.parcel_no}-${t("cert_preview_file")}`;
  return `${base}.${format}`;
}

// Open (HTML) or save (PDF) a document fetched as a Blob; the link stays in the section to open it again.
function deliver(blob, name, format, box) {
  if (shown) URL.revokeObjectURL(shown);
  shown = URL.createObjectURL(blob);
  const open = el("a", { href: shown, target: "_blank", rel: "noopener", id: "certificate-open", "data-format": format,
                         text: t(format === "pdf" ? "cert_open_pdf" : "cert_open_html") });
  const save = el("a", { href: shown, download: name, id: "certificate-save", text: t("cert_save") });
  box.replaceChildren(el("span", { text: `${t("cert_ready")} ` }), open, " · ", save);
  box.hidden = false;
  (format === "pdf" ? save : open).click();
}

async function request(parcel, { format = "pdf", issue = false }, section) {
  const box = section.querySelector(".certificate-result");
  const buttons = section.querySelectorAll("button");
  const body = { parcel_id: parcel.id, lang: lang(), format };
  if (app().asOf) body.as_of = app().asOf;
  const headers = { "Content-Type": "application/json" };
  if (issue) {
    const who = user();
    body.issue = true;
    if (who) headers.Authorization = `Bearer ${who.token}`;
  }
  section.setAttribute("aria-busy", "true");
  for (const b of buttons) b.disabled = true;
  box.hidden = false;
  box.removeAttribute("role");
  box.className = "certificate-result busy";
  box.replaceChildren(el("span", { class: "spinner", "aria-hidden": "true" }), t(issue ? "cert_issuing" : "cert_rendering"));
  try {
    const r = await fetch("/certificates", { method: "POST", headers, body: JSON.stringify(body) });
    if (!r.ok) {
      box.className = "certificate-result error";
      box.setAttribute("role", "alert");
      box.replaceChildren(await failure(r));
      return;
    }
    const number = r.headers.get("X-Certificate-Number");
    box.className = "certificate-result ok";
    deliver(await r.blob(), fileName(parcel, number, format), format, box);
    if (number) box.replaceChildren(issuedLinks(number)); // its lasting addresses rather than the blob: URL
  } catch (e) {
    box.className = "certificate-result error";
    box.setAttribute("role", "alert");
    box.replaceChildren(`${t("cert_error_network")} (${e.message})`);
  } finally {
    section.removeAttribute("aria-busy");
    for (const b of buttons) b.disabled = false;
  }
}

// An issued certificate: its number and its lasting addresses (the PDF made again from the record, its page, its
// verification).
function issuedLinks(number) {
  const at = `/certificates/${encodeURIComponent(number)}`;
  return el("div", { id: "certificate-issued" },
    el("p", {}, `${t("cert_issued")} `, el("strong", { id: "certificate-number", text: number })),
    el("p", {},
      el("a", { href: at, target: "_blank", rel: "noopener", id: "certificate-pdf-link", text: "PDF" }), " · ",
      el("a", { href: `${at}?f=html`, target: "_blank", rel: "noopener", text: "HTML" }), " · ",
      el("a", { href: `${at}/verify`, target: "_blank", rel: "noopener", id: "certificate-verify-link", text: t("cert_verify") })));
}

// The panel's certificate section of a lookup answer (null without a parcel, or on a date no plan was in force).
export function certificateSection(answer) {
  const parcel = answer.parcel;
  if (!parcel || answer.plan_data === "no_plan_in_force") return null;
  const section = el("section", { id: "certificate", class: "certificate" });
  const result = el("div", { class: "certificate-result", "aria-live": "polite", hidden: true });
  const buttons = [
    el("button", { type: "button", id: "certificate-preview", class: "primary", text: t("cert_preview"),
                   onclick: () => request(parcel, { format: "pdf" }, section) }),
    el("button", { type: "button", id: "certificate-preview-html", text: "HTML", title: t("cert_preview_html"),
                   "aria-label": t("cert_preview_html"), onclick: () => request(parcel, { format: "html" }, section) }),
  ];
  const who = user();
  if (who && ISSUERS.includes(who.role)) {
    buttons.push(el("button", { type: "button", id: "certificate-issue", text: t("cert_issue"), onclick: () => {
      if (window.confirm(t("cert_issue_confirm", { sheet: parcel.sheet_no, parcel: parcel.parcel_no }))) {
        request(parcel, { format: "pdf", issue: true }, section);
      }
    } }));
  }
  const hint = app().asOf ? t("cert_hint_as_of", { date: formatDay(app().asOf) }) : t("cert_hint");
  section.append(el("div", { class: "actions" }, buttons), el("p", { class: "muted", text: hint }), result);
  return section;
}

// Signing in or out changes who may issue: the open panel's section follows.
document.addEventListener("viewer-session", () => {
  const old = document.querySelector("#certificate");
  const answer = app() && app().answer;
  if (old && answer) {
    const fresh = certificateSection(answer);
    if (fresh) old.replaceWith(fresh);
  }
});
