// The 3D view: CesiumJS (loaded only when first shown) with the plan's 3D Tiles and the base map, offline.
import { cesiumBaseMap, fetchFeatures } from "./basemap.js";
import { lang } from "./i18n.js";

const BASE = "/vendor/cesium/";
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
