-- The lines (red lines or building lines: __TABLE__) of two plan versions compared: which line of one is which of
-- the other, and how far it moved. Parameters: %(f)s, %(t)s the plan ids, %(win)s a window (WKB, EPSG:9214) or
-- NULL, %(near_m)s how near the window a line counts (lines within reach of it are compared), %(reach_m)s how far a line may move and still be the same
-- line, %(min_shift_m)s the least shift that counts, %(geojson)s whether to give the lines as GeoJSON in CRS84.
WITH win AS MATERIALIZED (
    SELECT ST_GeomFromWKB(CAST(%(win)s AS bytea), 9214) AS g
), a AS MATERIALIZED (
    SELECT l.id, l.road_name, l.geom, __COLS_L__ FROM planning.__TABLE__ l, win
    WHERE l.plan_id = %(f)s __WINDOW__
), b AS MATERIALIZED (
    SELECT l.id, l.road_name, l.geom, __COLS_L__ FROM planning.__TABLE__ l, win
    WHERE l.plan_id = %(t)s __WINDOW__
), same AS MATERIALIZED (
    -- unchanged lines: the same road and the very same geometry (a draft's copy); each line used once
    SELECT DISTINCT ON (a_id) a_id, b_id FROM (
        SELECT DISTINCT ON (b.id) a.id AS a_id, b.id AS b_id
        FROM b JOIN a ON a.road_name IS NOT DISTINCT FROM b.road_name AND a.geom = b.geom
        ORDER BY b.id, a.id
    ) s ORDER BY a_id, b_id
), nearest AS (
    -- the others: each line of "to" and the nearest line of "from" on the same road, within reach
    SELECT b.id AS b_id, n.id AS a_id, n.dist
    FROM b CROSS JOIN LATERAL (
        SELECT x.id, ST_Distance(x.geom, b.geom) AS dist FROM planning.__TABLE__ x
        WHERE x.plan_id = %(f)s AND ST_DWithin(x.geom, b.geom, %(reach_m)s)
          AND x.road_name IS NOT DISTINCT FROM b.road_name
          AND x.id IN (SELECT id FROM a) AND x.id NOT IN (SELECT a_id FROM same)
        ORDER BY x.geom <-> b.geom, x.id LIMIT 1
    ) n
    WHERE b.id NOT IN (SELECT b_id FROM same)
), pairs AS (
    SELECT a_id, b_id FROM same
    UNION ALL
    SELECT a_id, b_id FROM (
        SELECT DISTINCT ON (a_id) a_id, b_id FROM nearest ORDER BY a_id, dist, b_id
    ) kept
), entries AS (
    SELECT CASE WHEN h.shift >= %(min_shift_m)s THEN 'moved' ELSE 'changed' END AS change,
           a.id AS a_id, b.id AS b_id, coalesce(b.road_name, a.road_name) AS road_name, h.shift,
           a.geom AS geom_a, b.geom AS geom_b,
           jsonb_build_object(__JSON_A__) AS attrs_a, jsonb_build_object(__JSON_B__) AS attrs_b
    FROM pairs p JOIN a ON a.id = p.a_id JOIN b ON b.id = p.b_id,
         LATERAL (SELECT CASE WHEN a.geom = b.geom THEN 0 ELSE ST_HausdorffDistance(a.geom, b.geom) END AS shift) h
    -- a pair moved less than the noise, with the same attributes, is no change
    WHERE h.shift >= %(min_shift_m)s OR (__COLS_A__) IS DISTINCT FROM (__COLS_B__)
    UNION ALL
    SELECT 'added', NULL, b.id, b.road_name, NULL, NULL, b.geom, NULL, jsonb_build_object(__JSON_B__)
    FROM b WHERE b.id NOT IN (SELECT b_id FROM pairs)
    UNION ALL
    SELECT 'removed', a.id, NULL, a.road_name, NULL, a.geom, NULL, jsonb_build_object(__JSON_A__), NULL
    FROM a WHERE a.id NOT IN (SELECT a_id FROM pairs)
)
SELECT e.change, e.a_id, e.b_id, e.road_name, round(e.shift::numeric, 2)::float8,
       e.attrs_a, e.attrs_b,
       ST_AsBinary(ST_Buffer(ST_Collect(ARRAY[e.geom_a, e.geom_b]), %(buffer_m)s, 'quad_segs=4')) AS region_wkb,
       CASE WHEN %(geojson)s THEN ST_AsGeoJSON(ST_Transform(coalesce(e.geom_b, e.geom_a), 4326), 7) END AS geojson,
       CASE WHEN %(geojson)s AND e.change = 'moved' THEN ST_AsGeoJSON(ST_Transform(e.geom_a, 4326), 7) END
           AS geojson_from,
       CASE WHEN win.g IS NULL THEN NULL ELSE ST_Distance(win.g, ST_Collect(ARRAY[e.geom_a, e.geom_b])) END AS win_dist
FROM entries e, win
WHERE win.g IS NULL OR ST_DWithin(win.g, ST_Collect(ARRAY[e.geom_a, e.geom_b]), %(near_m)s)
ORDER BY e.road_name NULLS LAST, coalesce(e.b_id, e.a_id)
