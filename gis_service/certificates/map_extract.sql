-- The map extract of a certificate: what the approved plans (on a date: the versions in force then, chosen by
-- content.py in the plans CTE) and the cadastre hold in a box (EPSG:9214 metres),
-- cut to the box (ST_ClipByBox2D, repaired where the cut left a shape invalid), coordinates to the centimetre. Zones come least detailed plan first, so the most detailed
-- plan is drawn on top where plans of several levels overlap.
WITH box AS MATERIALIZED (
    SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 9214) AS g
), plans AS MATERIALIZED (
    SELECT id, CASE level WHEN 'land_use' THEN 1 WHEN 'general' THEN 2 WHEN 'zoning' THEN 3 ELSE 4 END AS rank
    FROM planning.plans WHERE status = 'approved'
), zones AS MATERIALIZED (
    SELECT z.id, z.zone_code, z.land_use_code, lu.color_hex AS color, p.rank,
           ST_CollectionExtract(CASE WHEN ST_IsValid(c) THEN c ELSE ST_MakeValid(c) END, 3) AS g
    FROM planning.zones z JOIN plans p ON p.id = z.plan_id
    LEFT JOIN planning.land_use_codes lu ON lu.code = z.land_use_code, box, ST_ClipByBox2D(z.geom, box.g) AS c
    WHERE z.geom && box.g AND ST_Intersects(z.geom, box.g)
), red_lines AS MATERIALIZED (
    SELECT r.id, r.road_name, r.red_line_width_m AS width_m, ST_CollectionExtract(CASE WHEN ST_IsValid(c) THEN c ELSE ST_MakeValid(c) END, 2) AS g
    FROM planning.red_lines r JOIN plans p ON p.id = r.plan_id, box, ST_ClipByBox2D(r.geom, box.g) AS c
    WHERE r.geom && box.g AND ST_Intersects(r.geom, box.g)
), building_lines AS MATERIALIZED (
    SELECT b.id, b.road_name, b.setback_m, ST_CollectionExtract(CASE WHEN ST_IsValid(c) THEN c ELSE ST_MakeValid(c) END, 2) AS g
    FROM planning.building_lines b JOIN plans p ON p.id = b.plan_id, box, ST_ClipByBox2D(b.geom, box.g) AS c
    WHERE b.geom && box.g AND ST_Intersects(b.geom, box.g)
), parcels AS MATERIALIZED (
    SELECT t.id, t.parcel_no, ST_CollectionExtract(CASE WHEN ST_IsValid(c) THEN c ELSE ST_MakeValid(c) END, 3) AS g
    FROM planning.parcels t, box, ST_ClipByBox2D(t.geom, box.g) AS c
    WHERE t.geom && box.g AND ST_Intersects(t.geom, box.g) AND t.id <> %(parcel_id)s
)
SELECT json_build_object(
    'zones', coalesce((SELECT json_agg(json_build_object(
        'id', id, 'label', zone_code, 'land_use_code', land_use_code, 'color', color,
        'area_m2', round(ST_Area(g)::numeric, 2),
        'label_at', json_build_array(round(ST_X(at)::numeric, 2), round(ST_Y(at)::numeric, 2)),
        'geometry', ST_AsGeoJSON(g, 2)::json) ORDER BY rank, id)
        FROM zones, ST_PointOnSurface(g) AS at WHERE NOT ST_IsEmpty(g) AND ST_Area(g) >= 0.01), '[]'::json),
    'red_lines', coalesce((SELECT json_agg(json_build_object(
        'id', id, 'label', road_name, 'width_m', width_m, 'geometry', ST_AsGeoJSON(g, 2)::json) ORDER BY id)
        FROM red_lines WHERE NOT ST_IsEmpty(g)), '[]'::json),
    'building_lines', coalesce((SELECT json_agg(json_build_object(
        'id', id, 'label', road_name, 'setback_m', setback_m, 'geometry', ST_AsGeoJSON(g, 2)::json) ORDER BY id)
        FROM building_lines WHERE NOT ST_IsEmpty(g)), '[]'::json),
    'parcels', coalesce((SELECT json_agg(json_build_object(
        'id', id, 'label', parcel_no::text, 'area_m2', round(ST_Area(g)::numeric, 2),
        'label_at', json_build_array(round(ST_X(at)::numeric, 2), round(ST_Y(at)::numeric, 2)),
        'geometry', ST_AsGeoJSON(g, 2)::json) ORDER BY id)
        FROM parcels, ST_PointOnSurface(g) AS at WHERE NOT ST_IsEmpty(g) AND ST_Area(g) >= 0.01), '[]'::json)
)::text
