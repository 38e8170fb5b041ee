// The 3D view: CesiumJS (loaded only when first shown) with the plan's 3D Tiles and the base map, offline.
import { cesiumBaseMap, fetchFeatures } from "./basemap.js";
import { lang, t, formatNumber } from "./i18n.js";

const BASE = "/vendor/cesium/";
const ENVELOPE_3D = { solid: "#42a5f5", footprint: "#1565c0", outline: "#0d3c78", lot: "#d81b60" };
let loading = null;

function loadCesium() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      window.CESIUM_BASE_URL = BASE;
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = BASE + "Widgets/widgets.css";
      document.head.appendChild(css);
      const s = document.createElement("script");
      s.src = BASE + "Cesium.js";
      s.onload = () => resolve(window.Cesium);
      s.onerror = () => reject(new Error("CesiumJS could not be loaded from " + s.src));
      document.head.appendChild(s);
    });
  }
  return loading;
}

// Metres per CSS pixel at a Web Mercator zoom (512-pixel tiles, as MapLibre).
function metresPerPixel(zoom, lat) {
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** zoom);
}

// The heading (radians) of a camera standing on the lot's street side and looking at it, where the envelope tells that
// side: its road land, else the side its setbacks took from the lot. Streets are open: nothing stands in front.
function frontHeading(g) {
  const centre = (geom) => {
    const rings = !geom ? [] : geom.type === "Polygon" ? [geom.coordinates[0]] : geom.type === "MultiPolygon" ? geom.coordinates.map((p) => p[0]) : [];
    const pts = rings.flatMap((r) => r.slice(0, -1));
    return pts.length ? [pts.reduce((s, c) => s + c[0], 0) / pts.length, pts.reduce((s, c) => s + c[1], 0) / pts.length] : null;
  };
  const lot = centre(g.lot);
  const road = centre(g.road_part);
  const inner = centre(g.buildable);
  if (!lot) return null;
  // from the street side towards the lot, in metres east and north
  const [from, to] = road ? [road, lot] : inner ? [lot, inner] : [null, null];
  if (!from) return null;
  const east = (to[0] - from[0]) * 111320 * Math.cos((lot[1] * Math.PI) / 180);
  const north = (to[1] - from[1]) * 110574;
  return Math.hypot(east, north) > 0.5 ? Math.atan2(east, north) : null;
}

export class Map3D {
  static async create(container, config) {
    const Cesium = await loadCesium();
    const m = new Map3D();
    m.timings = { cesium: performance.now() };
    m.Cesium = Cesium;
    Cesium.Ion.defaultAccessToken = "";
    const viewer = new Cesium.Viewer(container, {
      baseLayer: false, baseLayerPicker: false, geocoder: false, animation: false, timeline: false,
      homeButton: false, sceneModePicker: false, navigationHelpButton: false, fullscreenButton: false,
      infoBox: false, selectionIndicator: false, terrainProvider: new Cesium.EllipsoidTerrainProvider(),
      requestRenderMode: false, skyBox: false, skyAtmosphere: false, shadows: false, msaaSamples: 1,
    });
    // A plan map, not a flight simulator: no sky, sun, moon, fog or atmosphere (fewer shaders to compile, which
    // matters most under software WebGL).
    const scene = viewer.scene;
    scene.fog.enabled = false;
    scene.sun = undefined;
    scene.moon = undefined;
    scene.globe.showGroundAtmosphere = false;
    scene.globe.enableLighting = false;
    scene.postProcessStages.fxaa.enabled = false;
    scene.backgroundColor = Cesium.Color.fromCssColorString("#e9eef2");
    m.viewer = viewer;
    viewer.scene.globe.baseColor = Cesium.Color.fromCssColorString("#dfe6da");
    const provider = config.base_map && config.base_map.url
      ? new Cesium.UrlTemplateImageryProvider({ url: config.base_map.url, credit: config.base_map.attribution || undefined })
      : await Cesium.TileMapServiceImageryProvider.fromUrl(Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"));
    viewer.imageryLayers.addImageryProvider(provider);
    // The base map (water, walls, streets, landmarks): fetched once, when the 3D view is first shown.
    m.baseMapReady = (async () => {
      const features = await fetchFeatures();
      const source = cesiumBaseMap(Cesium, features, { ground: config.ground_height_m || 0, language: lang() });
      await viewer.dataSources.add(source);
      m.baseMap = source;
      scene.requestRender();
      return source;
    })();
    m.tilesetReady = (async () => {
      const tileset = await Cesium.Cesium3DTileset.fromUrl("/tiles/3d/tileset.json", m.tilesetOptions || {});
      m.timings.tilesetJson = performance.now();
      m.timings.tiles = [];
      tileset.tileLoad.addEventListener(() => m.timings.tiles.push(performance.now()));
      viewer.scene.primitives.add(tileset);
      m.tileset = tileset;
      await new Promise((resolve) => {
        const check = () => {
          viewer.scene.requestRender();
          if (tileset.tilesLoaded) { tileset.allTilesLoaded.removeEventListener(check); resolve(); }
        };
        tileset.allTilesLoaded.addEventListener(check);
        check();
      });
      const loaded = performance.now();
      // Loaded: from now on draw only when something changes (an idle map costs no CPU).
      scene.requestRenderMode = true;
      scene.maximumRenderTimeChange = Infinity;
      return loaded;
    })();
    return m;
  }

  setView(view) {
    const C = this.Cesium;
    const canvas = this.viewer.scene.canvas;
    const visible = metresPerPixel(view.zoom, view.lat) * canvas.clientHeight;
    const range = visible / (2 * Math.tan(this.viewer.camera.frustum.fovy / 2 || Math.PI / 6));
    const pitch = -Math.PI / 3;
    this.viewer.camera.lookAt(C.Cartesian3.fromDegrees(view.lon, view.lat, 0), new C.HeadingPitchRange(0, pitch, range));
    this.viewer.camera.lookAtTransform(C.Matrix4.IDENTITY);
    this.viewer.scene.requestRender();
  }

  // The ground point at the middle of the canvas and a zoom that shows the same width of ground.
  view() {
    const C = this.Cesium;
    const scene = this.viewer.scene;
    const canvas = scene.canvas;
    const centre = new C.Cartesian2(canvas.clientWidth / 2, canvas.clientHeight / 2);
    const ground = this.viewer.camera.pickEllipsoid(centre, scene.globe.ellipsoid);
    if (!ground) return null;
    const carto = C.Cartographic.fromCartesian(ground);
    const lat = C.Math.toDegrees(carto.latitude);
    const range = C.Cartesian3.distance(this.viewer.camera.positionWC, ground);
    const visible = range * 2 * Math.tan(this.viewer.camera.frustum.fovy / 2);
    const zoom = Math.log2((40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * (visible / canvas.clientHeight)));
    return { lon: C.Math.toDegrees(carto.longitude), lat, zoom };
  }

  resize() {
    this.viewer.resize();
    this.viewer.scene.requestRender();
  }

  // The base map's names in the viewer's language.
  setLanguage(language) {
    if (!this.baseMap) return;
    for (const e of this.baseMap.labelEntities) {
      const name = e.properties.name ? e.properties.name.getValue() : null;
      const english = e.properties.name_en ? e.properties.name_en.getValue() : null;
      e.label.text = (language === "en" ? english || name : name) || "";
    }
    this.viewer.scene.requestRender();
  }

  // The looked-up parcel's buildable envelope (the answer of /parcels/{id}/envelope, CRS84), or null to remove it:
  // its solid, each part extruded from the ground to its height limit, translucent and outlined; the largest footprint
  // as a darker block up to the height limit; the road land hatched and the lot outlined on the ground; a label with
  // the floors and height. Entities in a data source of their own, as the base map. `fly` frames it.
  showEnvelope(envelope, { ground = 0, fly = false } = {}) {
    const C = this.Cesium;
    if (!this.envelope) {
      this.envelope = new C.CustomDataSource("envelope");
      this.viewer.dataSources.add(this.envelope);
    }
    const E = this.envelope.entities;
    const id = envelope && envelope.parcel ? envelope.parcel.id : null;
    const cap = (envelope && envelope.capacity) || {};
    const floors = cap.floors && cap.floors.value;
    const label = (limit) => [floors ? `${formatNumber(floors, 0)} ${t("floors_unit")}` : null, `${formatNumber(limit)} m`]
      .filter(Boolean).join(" · ");
    if (envelope && id === this.envelopeId && ground === this.envelopeGround) {
      // already drawn (a language switch, or "view in 3D"): rebuilding would make Cesium build its geometry again
      for (const e of E.values) if (e.label) e.label.text = label(e.properties.top_m.getValue());
      if (fly) this.flyToEnvelope();
      this.viewer.scene.requestRender();
      return;
    }
    E.removeAll();
    this.envelopeId = id;
    this.envelopeGround = ground;
    this.envelopeSphere = null;
    if (!envelope) { this.viewer.scene.requestRender(); return; }
    const css = (c, a = 1) => C.Color.fromCssColorString(c).withAlpha(a);
    const polygons = (g) => (!g ? [] : g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);
    const hierarchy = (rings) => new C.PolygonHierarchy(
      C.Cartesian3.fromDegreesArray(rings[0].flat()),
      rings.slice(1).map((h) => new C.PolygonHierarchy(C.Cartesian3.fromDegreesArray(h.flat()))));
    const g = envelope.geometry || {};
    const everything = [];
    let top = 0;
    for (const f of (envelope.solid && envelope.solid.features) || []) {
      const p = f.properties || {};
      top = Math.max(top, p.top_m || 0);
      for (const rings of polygons(f.geometry)) {
        everything.push(...rings[0]);
        E.add({ polygon: { hierarchy: hierarchy(rings), height: ground + (p.base_m || 0), extrudedHeight: ground + p.top_m,
                           material: css(ENVELOPE_3D.solid, 0.3), outline: true, outlineColor: css(ENVELOPE_3D.outline, 0.95) },
                properties: { envelope: "solid", zone_code: p.zone_code, floors: p.floors, top_m: p.top_m } });
      }
    }
    const limit = cap.height_m && cap.height_m.value ? cap.height_m.value : top;
    for (const rings of limit ? polygons(g.max_footprint) : []) {
      // a hair under the solid's faces: the block reads as inside it, not flickering with it
      E.add({ polygon: { hierarchy: hierarchy(rings), height: ground + 0.05, extrudedHeight: ground + limit - 0.05,
                         material: css(ENVELOPE_3D.footprint, 0.6), outline: true, outlineColor: css(ENVELOPE_3D.outline) },
              properties: { envelope: "footprint", top_m: limit } });
    }
    for (const rings of polygons(g.road_part)) {
      E.add({ polygon: { hierarchy: hierarchy(rings), height: ground + 0.15,
                         material: new C.StripeMaterialProperty({ evenColor: css("#5a5a5a", 0.75), oddColor: css("#bdbdbd", 0.35),
                                                                  repeat: 12, orientation: C.StripeOrientation.VERTICAL }) },
              properties: { envelope: "road" } });
    }
    for (const rings of polygons(g.lot)) {
      everything.push(...rings[0]);
      E.add({ polyline: { positions: C.Cartesian3.fromDegreesArrayHeights(rings[0].flatMap(([x, y]) => [x, y, ground + 0.3])),
                          width: 3, material: css(ENVELOPE_3D.lot) },
              properties: { envelope: "lot" } });
    }
    const fp = polygons(g.max_footprint)[0] || polygons(g.buildable)[0];
    if (fp && limit) {
      const ring = fp[0].slice(0, -1);
      const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
      const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
      E.add({ position: C.Cartesian3.fromDegrees(lon, lat, ground + limit + 1),
              label: { text: label(limit), font: "700 30px 'Noto Sans', 'DejaVu Sans', sans-serif", scale: 0.5, fillColor: C.Color.WHITE,
                       showBackground: true, backgroundColor: css(ENVELOPE_3D.outline, 0.9),
                       backgroundPadding: new C.Cartesian2(12, 6), pixelOffset: new C.Cartesian2(0, -6),
                       verticalOrigin: C.VerticalOrigin.BOTTOM, disableDepthTestDistance: Number.POSITIVE_INFINITY },
              properties: { envelope: "label", top_m: limit } });
    }
    if (everything.length) {
      const points = everything.flatMap(([x, y]) => [C.Cartesian3.fromDegrees(x, y, ground), C.Cartesian3.fromDegrees(x, y, ground + top)]);
      this.envelopeSphere = C.BoundingSphere.fromPoints(points);
      this.envelopeHeading = frontHeading(g);
    }
    if (fly) this.flyToEnvelope();
    this.viewer.scene.requestRender();
  }

  // The camera on the envelope's street side, looking down at it from 45°.
  flyToEnvelope() {
    const C = this.Cesium;
    const sphere = this.envelopeSphere;
    if (!sphere) return;
    const range = Math.max(60, sphere.radius * 4);
    this.viewer.camera.flyToBoundingSphere(sphere, {
      offset: new C.HeadingPitchRange(this.envelopeHeading ?? this.viewer.camera.heading, -Math.PI / 4, range), duration: 1.2,
    });
  }

  // A click: the picked feature's properties and the ground point under it.
  onClick(handler) {
    const C = this.Cesium;
    const scene = this.viewer.scene;
    const h = new C.ScreenSpaceEventHandler(scene.canvas);
    h.setInputAction((e) => handler(this.pickAt(e.position)), C.ScreenSpaceEventType.LEFT_CLICK);
  }

  pickAt(position) {
    const C = this.Cesium;
    const scene = this.viewer.scene;
    const picked = scene.pick(position);
    let properties = null;
    if (picked instanceof C.Cesium3DTileFeature) {
      properties = {};
      for (const id of picked.getPropertyIds()) properties[id] = picked.getProperty(id);
    }
    let cartesian = properties && scene.pickPositionSupported ? scene.pickPosition(position) : undefined;
    if (!cartesian) cartesian = this.viewer.camera.pickEllipsoid(position, scene.globe.ellipsoid);
    let point = null;
    if (cartesian) {
      const carto = C.Cartographic.fromCartesian(cartesian);
      point = { lon: C.Math.toDegrees(carto.longitude), lat: C.Math.toDegrees(carto.latitude) };
    }
    return { properties, point };
  }

  centre() {
    const canvas = this.viewer.scene.canvas;
    return this.pickAt(new this.Cesium.Cartesian2(canvas.clientWidth / 2, canvas.clientHeight / 2));
  }
}
