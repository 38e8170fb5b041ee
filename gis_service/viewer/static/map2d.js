// The 2D map: MapLibre GL JS with the plan's vector tiles (zones in their official colours, parcels, red lines) over
// the base map (water, walls, streets; their names on top).
import * as maplibregl from "/vendor/maplibre/maplibre-gl.mjs";
import { baseLayers, labelLayers, LABEL_LAYERS, nameIn } from "./basemap.js";
import { lang } from "./i18n.js";

const TILES = "/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}";
// The plan tiles of a date (null: today's); the date is in the address, so no tile of one date serves another.
const planTiles = (asOf) => [location.origin + TILES + (asOf ? `?as_of=${asOf}` : "")];
const EMPTY = { type: "FeatureCollection", features: [] };
// The looked-up parcel's envelope: road land hatched grey, the buildable area outlined (dashed), the largest footprint
// filled.
export const ENVELOPE = { road: "#6b6b6b", buildable: "#0d3c78", footprint: "#0d47a1" };
const HATCH = "envelope-hatch";
const kindIs = (k) => ["==", ["get", "kind"], k];

// Grey diagonal stripes on a transparent ground, 16 × 16 pixels (drawn at half size: 8 CSS pixels a repeat).
function hatchImage() {
  const n = 16;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const on = (x + y) % 8 < 3;
      data.set(on ? [70, 70, 70, 255] : [205, 205, 205, 170], (y * n + x) * 4);
    }
  }
  return { width: n, height: n, data };
}

function envelopeLayers() {
  const src = { source: "envelope" };
  return [
    { id: "envelope-road-fill", type: "fill", ...src, filter: kindIs("road"), paint: { "fill-pattern": HATCH } },
    { id: "envelope-road-line", type: "line", ...src, filter: kindIs("road"),
      paint: { "line-color": ENVELOPE.road, "line-width": 1.5 } },
    { id: "envelope-footprint-fill", type: "fill", ...src, filter: kindIs("footprint"),
      paint: { "fill-color": ENVELOPE.footprint, "fill-opacity": 0.55 } },
    { id: "envelope-footprint-line", type: "line", ...src, filter: kindIs("footprint"),
      paint: { "line-color": ENVELOPE.footprint, "line-width": 1.5 } },
    { id: "envelope-buildable-line", type: "line", ...src, filter: kindIs("buildable"),
      layout: { "line-join": "round" },
      paint: { "line-color": ENVELOPE.buildable, "line-width": 2.5, "line-dasharray": [2, 1.5] } },
  ];
}

function style(config, asOf) {
  const sources = {
    // the deepest published zoom (GIS_VECTOR_TILES__MAX_ZOOM): deeper, the map enlarges those tiles, no live draw
    plan: { type: "vector", tiles: planTiles(asOf), minzoom: 0, maxzoom: 16 },
    selection: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    envelope: { type: "geojson", data: EMPTY },
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1ea" } }];
  if (config.base_map && config.base_map.url) {
    sources.base = { type: "raster", tiles: [config.base_map.url], tileSize: 256,
                     attribution: config.base_map.attribution || "" };
    layers.push({ id: "base", type: "raster", source: "base" });
  }
  const selected = ["boolean", ["feature-state", "selected"], false];
  layers.push(...baseLayers());
  layers.push(
    { id: "zones-fill", type: "fill", source: "plan", "source-layer": "zones",
      paint: { "fill-color": ["coalesce", ["get", "color"], "#cccccc"],
               "fill-opacity": ["case", selected, 0.85, 0.6] } },
    { id: "zones-line", type: "line", source: "plan", "source-layer": "zones",
      paint: { "line-color": ["case", selected, "#0b5cad", "#6b6b6b"],
               "line-width": ["case", selected, 3, 0.8] } },
    { id: "parcels-line", type: "line", source: "plan", "source-layer": "parcels", minzoom: 14,
      paint: { "line-color": "#444", "line-width": 0.5, "line-opacity": 0.7 } },
    { id: "parcels-selected", type: "line", source: "plan", "source-layer": "parcels", minzoom: 12,
      filter: ["==", ["id"], -1], paint: { "line-color": "#d81b60", "line-width": 3 } },
    { id: "red-lines", type: "line", source: "plan", "source-layer": "red_lines",
      paint: { "line-color": "#e31a1c", "line-width": 2 } },
    ...envelopeLayers(),
    { id: "selection-fill", type: "fill", source: "selection", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": ["coalesce", ["get", "color"], "#1565c0"], "fill-opacity": 0.25 } },
    { id: "selection-line", type: "line", source: "selection",
      paint: { "line-color": ["coalesce", ["get", "color"], "#1565c0"], "line-width": 3,
               "line-dasharray": ["case", ["==", ["get", "kind"], "measure"], ["literal", [2, 1]], ["literal", [1, 0]]] } },
    { id: "selection-point", type: "circle", source: "selection", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 6, "circle-color": ["coalesce", ["get", "color"], "#d81b60"],
               "circle-stroke-color": "#fff", "circle-stroke-width": 2 } },
  );
  layers.push(...labelLayers(lang()));
  // No "glyphs": MapLibre draws the labels with the browser's fonts (offline, every Vietnamese letter).
  return { version: 8, sources, layers };
}

export class Map2D {
  constructor(container, config, view, asOf = null) {
    this.selectedZones = [];
    this.map = new maplibregl.Map({
      container,
      style: style(config, asOf),
      center: [view.lon, view.lat],
      zoom: view.zoom,
      attributionControl: config.base_map ? { compact: true } : false,
      maxPitch: 0,
      dragRotate: false,
      fadeDuration: 0,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    this.firstRender = new Promise((resolve) => this.map.once("idle", () => resolve(performance.now())));
  }

  onClick(handler) {
    this.map.on("click", (e) => handler({ lon: e.lngLat.lng, lat: e.lngLat.lat, x: e.point.x, y: e.point.y }));
    this.map.on("mousemove", "zones-fill", () => (this.map.getCanvas().style.cursor = "pointer"));
    this.map.on("mouseleave", "zones-fill", () => (this.map.getCanvas().style.cursor = ""));
  }

  view() {
    const c = this.map.getCenter();
    return { lon: c.lng, lat: c.lat, zoom: this.map.getZoom() };
  }

  setView(view) {
    this.map.jumpTo({ center: [view.lon, view.lat], zoom: view.zoom });
  }

  resize() {
    this.map.resize();
  }

  // The plan of another date (null: today's): the zones and red lines are loaded again.
  setAsOf(asOf) {
    this.highlight(null); // another date's zones have other ids: the lookup that follows highlights them
    this.map.getSource("plan").setTiles(planTiles(asOf));
  }

  // The base map's names in the viewer's language.
  setLanguage(language) {
    for (const id of LABEL_LAYERS) this.map.setLayoutProperty(id, "text-field", nameIn(language));
  }

  // Highlight the looked-up parcel and zones (vector tile ids are the database ids).
  highlight(answer) {
    for (const id of this.selectedZones) this.map.setFeatureState({ source: "plan", sourceLayer: "zones", id }, { selected: false });
    this.selectedZones = (answer && answer.zones ? answer.zones : []).map((z) => z.id);
    for (const id of this.selectedZones) this.map.setFeatureState({ source: "plan", sourceLayer: "zones", id }, { selected: true });
    const parcelId = answer && answer.parcel ? answer.parcel.id : -1;
    this.map.setFilter("parcels-selected", ["==", ["id"], parcelId]);
  }

  // Extra shapes (footprints, measured setbacks, edited geometry): a GeoJSON FeatureCollection.
  showShapes(collection) {
    this.map.getSource("selection").setData(collection || { type: "FeatureCollection", features: [] });
  }

  // The looked-up parcel's buildable envelope (the answer of /parcels/{id}/envelope, CRS84), or null to remove it.
  showEnvelope(envelope) {
    const g = (envelope && envelope.geometry) || {};
    const features = [["road", g.road_part], ["buildable", g.buildable], ["footprint", g.max_footprint]]
      .filter(([, geometry]) => geometry)
      .map(([kind, geometry]) => ({ type: "Feature", geometry, properties: { kind } }));
    this.envelopeData = { type: "FeatureCollection", features };
    const set = () => {
      if (!this.map.hasImage(HATCH)) this.map.addImage(HATCH, hatchImage(), { pixelRatio: 2 }); // before a layer needs it
      this.map.getSource("envelope").setData(this.envelopeData);
    };
    if (this.map.getSource("envelope")) set();
    else this.map.once("style.load", set); // a permalink's lookup may answer before the style is in place
  }

  fitBounds(bbox) {
    this.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 30, duration: 0 });
  }
}

export { maplibregl };
