-- The red lines of the plan above (:higher) inside the land both plans cover, where the lower plan (:lower) has no
-- red line within :tolerance_m: the length that moved and how far its farthest point lies from a lower red line.
WITH cover AS (
    SELECT ST_Intersection(
        coalesce((SELECT geom FROM planning.plans WHERE id = :lower),
                 (SELECT ST_Union(geom) FROM planning.zones WHERE plan_id = :lower)),
        coalesce((SELECT geom FROM planning.plans WHERE id = :higher),
                 (SELECT ST_Union(geom) FROM planning.zones WHERE plan_id = :higher))) AS g
), lower_lines AS (
    SELECT ST_Union(geom) AS g FROM planning.red_lines WHERE plan_id = :lower
), moved AS (
    SELECT r.id, r.road_name, r.red_line_width_m,
           CASE WHEN ll.g IS NULL THEN ST_Intersection(r.geom, c.g)
                ELSE ST_Difference(ST_Intersection(r.geom, c.g), ST_Buffer(ll.g, :tolerance_m)) END AS g,
           ll.g AS lower_g
    FROM planning.red_lines r CROSS JOIN cover c CROSS JOIN lower_lines ll
    WHERE r.plan_id = :higher AND c.g IS NOT NULL AND ST_Intersects(r.geom, c.g)
)
SELECT m.id, m.road_name, m.red_line_width_m::float8, round(ST_Length(m.g)::numeric, 1)::float8 AS length_m,
       (SELECT round(max(ST_Distance(d.geom, m.lower_g))::numeric, 1)::float8 FROM ST_DumpPoints(m.g) d) AS offset_m,
       round(ST_X(p.pt)::numeric, 2)::float8, round(ST_Y(p.pt)::numeric, 2)::float8
FROM moved m
CROSS JOIN LATERAL (SELECT ST_ClosestPoint(m.g, ST_Centroid(m.g)) AS pt) p
WHERE NOT ST_IsEmpty(m.g) AND ST_Length(m.g) >= :min_length_m
ORDER BY m.id
