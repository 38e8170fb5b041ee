-- The zones of two plan versions compared: which zone of one is which of the other, and what differs.
-- Parameters: %(f)s the "from" version's plan id, %(t)s the "to" version's, %(win)s a window (WKB, EPSG:9214) or
-- NULL for the whole plan, %(min_m2)s the smallest area change that counts (below it: digitising noise),
-- %(geojson)s whether to give the changed parts as GeoJSON in CRS84, %(reach_m)s how far around a window a zone
-- that left it is looked for.
-- __COLS__ (the compared columns) and __WINDOW__ are filled in from the catalogue (gis_service.changes.zones).
WITH win AS MATERIALIZED (
    SELECT ST_GeomFromWKB(CAST(%(win)s AS bytea), 9214) AS g
), a0 AS MATERIALIZED (
    SELECT z.id, z.zone_code, z.geom, __COLS_Z__,
           coalesce(z.attributes->>'khongGioiHan', '') AS no_limit
    FROM planning.zones z, win WHERE z.plan_id = %(f)s __WINDOW__
), b0 AS MATERIALIZED (
    SELECT z.id, z.zone_code, z.geom, __COLS_Z__,
           coalesce(z.attributes->>'khongGioiHan', '') AS no_limit
    FROM planning.zones z, win WHERE z.plan_id = %(t)s __WINDOW__
), near AS MATERIALIZED (
    -- with a window: the box around the zones meeting it, where a zone that left the window is looked for
    SELECT ST_SetSRID(ST_Expand(ST_Extent(g)::geometry, %(reach_m)s), 9214) AS box
    FROM (SELECT geom AS g FROM a0 UNION ALL SELECT geom FROM b0) x WHERE __WINDOWED__
), a AS MATERIALIZED (
    -- with a window, also the zones nearby named like one in the window on the other side
    SELECT * FROM a0
    UNION ALL
    SELECT z.id, z.zone_code, z.geom, __COLS_Z__, coalesce(z.attributes->>'khongGioiHan', '')
    FROM planning.zones z, near WHERE __WINDOWED__ AND z.plan_id = %(f)s AND z.geom && near.box
        AND z.zone_code IN (SELECT zone_code FROM b0) AND z.id NOT IN (SELECT id FROM a0)
), b AS MATERIALIZED (
    SELECT * FROM b0
    UNION ALL
    SELECT z.id, z.zone_code, z.geom, __COLS_Z__, coalesce(z.attributes->>'khongGioiHan', '')
    FROM planning.zones z, near WHERE __WINDOWED__ AND z.plan_id = %(t)s AND z.geom && near.box
        AND z.zone_code IN (SELECT zone_code FROM a0) AND z.id NOT IN (SELECT id FROM b0)
), by_code AS MATERIALIZED (
    -- a code names one zone when no other zone of its version (with a window: in and around it) has it;
    -- one aggregate, no join whose size the planner could misjudge
    SELECT min(id) FILTER (WHERE side = 'a') AS a_id, min(id) FILTER (WHERE side = 'b') AS b_id
    FROM (SELECT 'a' AS side, id, zone_code FROM a UNION ALL SELECT 'b', id, zone_code FROM b) x
    WHERE zone_code IS NOT NULL
    GROUP BY zone_code
    HAVING count(*) FILTER (WHERE side = 'a') = 1 AND count(*) FILTER (WHERE side = 'b') = 1
), shared_land AS (
    -- the others: each zone of "to" and the zone of "from" it shares most land with (through the spatial index)
    SELECT b.id AS b_id, o.id AS a_id, o.shared
    FROM b CROSS JOIN LATERAL (
        SELECT z.id, ST_Area(ST_Intersection(z.geom, b.geom)) AS shared
        FROM planning.zones z
        WHERE z.plan_id = %(f)s AND z.geom && b.geom AND z.id IN (SELECT id FROM a)
          AND z.id NOT IN (SELECT a_id FROM by_code)
    ) o
    WHERE b.id NOT IN (SELECT b_id FROM by_code) AND o.shared >= %(min_m2)s
), best_b AS (
    SELECT DISTINCT ON (b_id) b_id, a_id, shared FROM shared_land ORDER BY b_id, shared DESC, a_id
), pairs AS (
    SELECT a_id, b_id FROM by_code
    UNION ALL
    -- a zone of "from" chosen by two of "to" stays with the one sharing most; the other is new
    SELECT a_id, b_id FROM (
        SELECT DISTINCT ON (a_id) a_id, b_id FROM best_b ORDER BY a_id, shared DESC, b_id
    ) kept
), changed AS (
    SELECT p.a_id, p.b_id, a.zone_code AS code_a, b.zone_code AS code_b,
           NOT (a.geom = b.geom) AS moved,
           (__COLS_A__) IS DISTINCT FROM (__COLS_B__) AS edited,
           a.geom AS geom_a, b.geom AS geom_b,
           jsonb_build_object(__JSON_A__, 'no_limit', a.no_limit) AS attrs_a,
           jsonb_build_object(__JSON_B__, 'no_limit', b.no_limit) AS attrs_b
    FROM pairs p JOIN a ON a.id = p.a_id JOIN b ON b.id = p.b_id
    WHERE NOT (a.geom = b.geom) OR (__COLS_A__) IS DISTINCT FROM (__COLS_B__)
), measured AS (
    SELECT c.*, ST_Area(c.geom_a) AS area_a, ST_Area(c.geom_b) AS area_b,
           CASE WHEN c.moved THEN ST_Difference(c.geom_b, c.geom_a) END AS gained,
           CASE WHEN c.moved THEN ST_Difference(c.geom_a, c.geom_b) END AS lost
    FROM changed c
), entries AS (
    SELECT 'changed' AS change, m.a_id, m.b_id, coalesce(m.code_b, m.code_a) AS zone_code,
           m.area_a, m.area_b, coalesce(ST_Area(m.gained), 0) AS gained_m2, coalesce(ST_Area(m.lost), 0) AS lost_m2,
           m.edited, m.attrs_a, m.attrs_b, m.geom_a, m.geom_b,
           -- the changed part: where the zone grew or shrank; all of it when its rules changed
           CASE WHEN m.edited
                THEN ST_Union(m.geom_b, coalesce(m.lost, ST_GeomFromText('POLYGON EMPTY', 9214)))
                ELSE ST_Union(coalesce(m.gained, ST_GeomFromText('POLYGON EMPTY', 9214)),
                              coalesce(m.lost, ST_GeomFromText('POLYGON EMPTY', 9214))) END AS part
    FROM measured m
    UNION ALL
    SELECT 'added', NULL, b.id, b.zone_code, NULL, ST_Area(b.geom), ST_Area(b.geom), 0, true,
           NULL, jsonb_build_object(__JSON_B__, 'no_limit', b.no_limit), NULL, b.geom, b.geom
    FROM b WHERE b.id NOT IN (SELECT b_id FROM pairs)
    UNION ALL
    SELECT 'removed', a.id, NULL, a.zone_code, ST_Area(a.geom), NULL, 0, ST_Area(a.geom), true,
           jsonb_build_object(__JSON_A__, 'no_limit', a.no_limit), NULL, a.geom, NULL, a.geom
    FROM a WHERE a.id NOT IN (SELECT a_id FROM pairs)
)
SELECT e.change, e.a_id, e.b_id, e.zone_code,
       round(e.area_a::numeric, 1)::float8, round(e.area_b::numeric, 1)::float8,
       round(e.gained_m2::numeric, 1)::float8, round(e.lost_m2::numeric, 1)::float8, e.edited,
       e.attrs_a, e.attrs_b, ST_AsBinary(e.part) AS part_wkb,
       CASE WHEN %(geojson)s THEN ST_AsGeoJSON(ST_Transform(e.part, 4326), 7) END AS part_geojson,
       CASE WHEN win.g IS NOT NULL THEN ST_Area(ST_Intersection(win.g, e.geom_a)) END AS in_win_a,
       CASE WHEN win.g IS NOT NULL THEN ST_Area(ST_Intersection(win.g, e.geom_b)) END AS in_win_b,
       CASE WHEN win.g IS NOT NULL THEN ST_Area(ST_Intersection(win.g, e.part)) END AS in_win_part
FROM entries e, win
-- geometry that moved by less than the noise, with nothing else changed, is no change
WHERE e.change <> 'changed' OR e.edited OR e.gained_m2 + e.lost_m2 >= %(min_m2)s
ORDER BY e.zone_code NULLS LAST, coalesce(e.b_id, e.a_id)
