// The base map (planning.map_features, vector tile layer "map_features"): water, citadel walls, streets, alleys and
// landmarks, so that Huế is recognisable around the zones without an internet base map.
//
// 2D: MapLibre layers drawn under the zones (areas and lines) and over everything (names). Labels need no glyph
// server: the style has no "glyphs" URL, so MapLibre draws the letters with the browser's own fonts (Vietnamese
// diacritics included) and the text-font names below are CSS font families.
// 3D: Cesium entities from the OGC API items of map_features (CRS84): walls extruded to their height, water flat on
// the ground, street and landmark names as labels.

export const COLORS = {
  water: "#a8d4f0", waterLine: "#6ea8d2", waterText: "#1f5f8b",
  wall: "#8b7b6b", wallLine: "#5d5146",
  street: "#ffffff", streetCasing: "#c8c8c2", alley: "#8f8f86",
  landmark: "#8e3b2e", text: "#2d2d2d",
};
const FONT = ["Noto Sans", "DejaVu Sans", "Arial"];
const DEFAULT_WALL_HEIGHT_M = 6;
const FONT_ITALIC = ["Noto Sans Italic", "DejaVu Sans Oblique", "Arial Italic"];
const SOURCE = { source: "plan", "source-layer": "map_features" };
const kind = (...kinds) => ["match", ["get", "kind"], kinds, true, false];

// A street's drawn width (pixels) by zoom, from its width in metres where known (lộ giới), else 8 m.
function streetWidth(extra) {
  const metres = ["coalesce", ["get", "width_m"], 8];
  return ["interpolate", ["exponential", 2], ["zoom"],
    13, ["+", extra, 0.6],
    16, ["+", extra, ["max", 1.5, ["*", 0.25, metres]]],
    19, ["+", extra, ["max", 6, ["*", 2, metres]]]];
}

// The name in the viewer's language: English where the feature has one, else the Vietnamese name.
export function nameIn(language) {
  return language === "en" ? ["coalesce", ["get", "name_en"], ["get", "name"]] : ["coalesce", ["get", "name"], ""];
}

// Layers under the zones.
export function baseLayers() {
  return [
    { id: "base-water", type: "fill", ...SOURCE, filter: kind("water"),
      paint: { "fill-color": COLORS.water, "fill-outline-color": COLORS.waterLine } },
    { id: "base-water-line", type: "line", ...SOURCE, filter: kind("water"),
      paint: { "line-color": COLORS.waterLine, "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.5, 17, 1.5] } },
    { id: "base-alleys", type: "line", ...SOURCE, filter: kind("alley"), minzoom: 16,
      layout: { "line-cap": "butt" },
      paint: { "line-color": COLORS.alley, "line-width": ["interpolate", ["linear"], ["zoom"], 16, 1, 19, 3],
               "line-dasharray": [3, 2] } },
    { id: "base-streets-casing", type: "line", ...SOURCE, filter: kind("street"), minzoom: 14,
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": COLORS.streetCasing, "line-width": streetWidth(2) } },
    { id: "base-streets", type: "line", ...SOURCE, filter: kind("street"), minzoom: 14,
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": COLORS.street, "line-width": streetWidth(0) } },
    { id: "base-walls", type: "fill", ...SOURCE, filter: kind("wall"),
      paint: { "fill-color": COLORS.wall, "fill-outline-color": COLORS.wallLine } },
  ];
}

// Names and landmark markers, over everything.
export function labelLayers(language) {
  const halo = { "text-halo-color": "rgba(255,255,255,0.92)", "text-halo-width": 1.6 };
  return [
    { id: "base-water-names", type: "symbol", ...SOURCE, filter: kind("water"), minzoom: 13,
      layout: { "text-field": nameIn(language), "text-font": FONT_ITALIC,
                "text-size": ["interpolate", ["linear"], ["zoom"], 13, 11, 17, 15],
                "text-max-width": 8, "text-letter-spacing": 0.05 },
      paint: { "text-color": COLORS.waterText, ...halo } },
    { id: "base-street-names", type: "symbol", ...SOURCE, filter: kind("street", "alley"), minzoom: 15,
      layout: { "symbol-placement": "line", "text-field": nameIn(language), "text-font": FONT,
                "text-size": ["interpolate", ["linear"], ["zoom"], 15, 11, 18, 14],
                "text-max-angle": 30, "symbol-spacing": 350, "text-padding": 4 },
      paint: { "text-color": COLORS.text, ...halo } },
    { id: "base-landmarks", type: "circle", ...SOURCE, filter: kind("landmark"), minzoom: 13,
      paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 13, 3, 17, 5], "circle-color": COLORS.landmark,
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } },
    { id: "base-landmark-names", type: "symbol", ...SOURCE, filter: kind("landmark"), minzoom: 14,
      layout: { "text-field": nameIn(language), "text-font": FONT, "text-size": 12, "text-anchor": "left",
                "text-offset": [0.7, 0], "text-max-width": 9, "text-optional": true },
      paint: { "text-color": COLORS.landmark, ...halo } },
  ];
}

export const LABEL_LAYERS = ["base-water-names", "base-street-names", "base-landmark-names"];

// The legend's base-map entries: i18n key and the swatch's inline style.
export const LEGEND = [
  { key: "base_water", kind: "water", style: `background:${COLORS.water};border-color:${COLORS.waterLine}` },
  { key: "base_wall", kind: "wall", style: `background:${COLORS.wall};border-color:${COLORS.wallLine}` },
  { key: "base_street", kind: "street", class: "line", style: `background:${COLORS.street};border-color:${COLORS.streetCasing}` },
  { key: "base_alley", kind: "alley", class: "dashed", style: `border-color:${COLORS.alley}` },
  { key: "base_landmark", kind: "landmark", class: "dot", style: `background:${COLORS.landmark}` },
];

// ---------- 3D ----------

// Every base-map feature, from the OGC API items (CRS84 GeoJSON), following the "next" links.
export async function fetchFeatures(limit = 1000) {
  const features = [];
  let url = `/ogc/collections/map_features/items?f=json&limit=${limit}&offset=0`;
  while (url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`base map: ${r.status} ${r.statusText}`);
    const page = await r.json();
    features.push(...(page.features || []));
    const next = (page.links || []).find((l) => l.rel === "next");
    url = next && page.features && page.features.length ? next.href : null;
  }
  return features;
}

// Where a name goes on a large area in 3D (Cesium draws no label along a shape by itself): along parallels every
// `spacing` metres through the polygon (outer ring and holes, lon/lat), the middle of each stretch inside it at least
// `minWidth` metres wide. A river gets its name along its course, a ring-shaped moat on each side (its centroid is
// outside it), a small lake once, in the middle.
export function insidePoints(rings, spacing = 500, minWidth = 12) {
  const outer = rings[0];
  let [y0, y1] = [Infinity, -Infinity];
  for (const [, y] of outer) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const metresPerDegree = 111320;
  const kx = Math.cos((((y0 + y1) / 2) * Math.PI) / 180);
  const mid = (y0 + y1) / 2;
  const step = spacing / metresPerDegree;
  const ys = [mid];
  for (let k = 1; mid + k * step < y1 || mid - k * step > y0; k++) ys.push(mid + k * step, mid - k * step);
  const points = [];
  for (const y of ys.filter((v) => v > y0 && v < y1)) {
    const xs = [];
    for (const ring of rings) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const [ax, ay] = ring[i];
        const [bx, by] = ring[i + 1];
        if ((ay <= y && by > y) || (by <= y && ay > y)) xs.push(ax + ((y - ay) / (by - ay)) * (bx - ax));
      }
    }
    xs.sort((a, b) => a - b);
    const stretches = [];
    for (let i = 0; i + 1 < xs.length; i += 2) stretches.push([xs[i], xs[i + 1]]);
    const wide = stretches.filter(([a, b]) => (b - a) * kx * metresPerDegree >= minWidth);
    const chosen = wide.length ? wide : y === mid && stretches.length ? [stretches.sort((p, q) => (q[1] - q[0]) - (p[1] - p[0]))[0]] : [];
    for (const [a, b] of chosen) points.push([(a + b) / 2, y]);
  }
  return points.length ? points : [outer[0]];
}

// Points every `spacing` metres along a line (lon/lat), half a spacing from its ends; its middle when it is shorter.
export function alongPoints(coords, spacing = 500) {
  const seg = (a, b) => Math.hypot((b[0] - a[0]) * Math.cos((a[1] * Math.PI) / 180), b[1] - a[1]) * 111320;
  const lengths = [];
  let total = 0;
  for (let i = 0; i + 1 < coords.length; i++) { lengths.push(seg(coords[i], coords[i + 1])); total += lengths[i]; }
  const n = Math.max(1, Math.round(total / spacing));
  const wanted = Array.from({ length: n }, (_, k) => ((k + 0.5) * total) / n);
  const points = [];
  let start = 0;
  let i = 0;
  for (const at of wanted) {
    while (i < lengths.length - 1 && start + lengths[i] < at) { start += lengths[i]; i++; }
    const t = lengths[i] ? Math.min(1, (at - start) / lengths[i]) : 0;
    points.push([coords[i][0] + t * (coords[i + 1][0] - coords[i][0]), coords[i][1] + t * (coords[i + 1][1] - coords[i][1])]);
  }
  return points.length ? points : [coords[0]];
}

const polygonsOf = (g) => (g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);
const linesOf = (g) => (g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : []);

// The base map as Cesium entities in a data source of its own (shown under and among the 3D tiles).
export function cesiumBaseMap(C, features, { ground = 0, language = "vi" } = {}) {
  const source = new C.CustomDataSource("base-map");
  const E = source.entities;
  const css = (c, a = 1) => C.Color.fromCssColorString(c).withAlpha(a);
  const labelStyle = (text, colour, far) => ({
    // drawn twice as large and shown at half size: sharp letters (Cesium rasterises labels once, at this size)
    text, font: "600 28px 'Noto Sans', 'DejaVu Sans', sans-serif", scale: 0.5, fillColor: css(colour),
    outlineColor: C.Color.WHITE, outlineWidth: 5, style: C.LabelStyle.FILL_AND_OUTLINE,
    verticalOrigin: C.VerticalOrigin.BOTTOM, disableDepthTestDistance: Number.POSITIVE_INFINITY,
    distanceDisplayCondition: new C.DistanceDisplayCondition(0, far),
    scaleByDistance: new C.NearFarScalar(500, 1.0, 6000, 0.7),
  });
  const labels = [];
  const named = (f) => (language === "en" ? f.properties.name_en || f.properties.name : f.properties.name);
  const hierarchy = (rings) => new C.PolygonHierarchy(
    C.Cartesian3.fromDegreesArray(rings[0].flat()),
    rings.slice(1).map((h) => new C.PolygonHierarchy(C.Cartesian3.fromDegreesArray(h.flat()))));
  for (const f of features) {
    const p = f.properties || {};
    const g = f.geometry;
    if (!g) continue;
    if (p.kind === "water") {
      for (const rings of polygonsOf(g)) {
        E.add({ polygon: { hierarchy: hierarchy(rings), height: ground + 0.1, material: css(COLORS.water, 0.95),
                           outline: false }, properties: { ...p, base_map: true } });
      }
      for (const rings of named(f) ? polygonsOf(g) : []) {
        for (const [lon, lat] of insidePoints(rings, 350)) {
          labels.push(E.add({ position: C.Cartesian3.fromDegrees(lon, lat, ground + 1),
                              label: labelStyle(named(f), COLORS.waterText, 4000), properties: { ...p, label: true } }));
        }
      }
    } else if (p.kind === "wall") {
      const top = ground + (p.height_m ?? DEFAULT_WALL_HEIGHT_M);
      for (const rings of polygonsOf(g)) {
        E.add({ name: p.name, polygon: { hierarchy: hierarchy(rings), height: ground, extrudedHeight: top,
                                         material: css("#9a8c7c"), outline: true, outlineColor: css(COLORS.wallLine) },
                properties: { ...p, base_map: true } });
      }
    } else if (p.kind === "street" || p.kind === "alley") {
      const alley = p.kind === "alley";
      for (const line of linesOf(g)) {
        E.add({ polyline: { positions: C.Cartesian3.fromDegreesArrayHeights(line.flatMap(([x, y]) => [x, y, ground + 0.2])),
                            width: alley ? 1.5 : 3,
                            material: alley ? new C.PolylineDashMaterialProperty({ color: css(COLORS.alley), dashLength: 12 })
                                            : css(COLORS.street, 0.95) },
                properties: { ...p, base_map: true } });
      }
      for (const line of named(f) ? linesOf(g) : []) {
        for (const [lon, lat] of alongPoints(line, alley ? 250 : 500)) {
          labels.push(E.add({ position: C.Cartesian3.fromDegrees(lon, lat, ground + 1),
                              label: labelStyle(named(f), COLORS.text, alley ? 900 : 2500),
                              properties: { ...p, label: true } }));
        }
      }
    } else if (p.kind === "landmark" && g.type === "Point") {
      const [lon, lat] = g.coordinates;
      labels.push(E.add({ position: C.Cartesian3.fromDegrees(lon, lat, ground + 1),
                          point: { pixelSize: 9, color: css(COLORS.landmark), outlineColor: C.Color.WHITE, outlineWidth: 2,
                                   disableDepthTestDistance: Number.POSITIVE_INFINITY },
                          label: { ...labelStyle(named(f) || "", COLORS.landmark, 12000), pixelOffset: new C.Cartesian2(0, -8) },
                          properties: { ...p, label: true } }));
    }
  }
  source.labelEntities = labels;
  return source;
}
