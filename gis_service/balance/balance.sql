-- The land-use balance of plan version :plan: each land-use code's area (sum of its zones) with its group and
-- colour; then one row of totals (code NULL): the zones' sum, the land they cover, the boundary, the boundary's
-- land in no zone and the zones' land outside the boundary. Areas in m² of EPSG:9214 (VN-2000).
WITH z AS (
    SELECT land_use_code, geom FROM planning.zones WHERE plan_id = :plan
), cover AS (
    SELECT ST_Union(geom) AS g FROM z
), boundary AS (
    SELECT geom AS g FROM planning.plans WHERE id = :plan
)
SELECT z.land_use_code AS code, c.name_vi, c.name_en, coalesce(c.group_code, z.land_use_code) AS group_code,
       g.name_vi AS group_vi, g.name_en AS group_en, c.color_hex, sum(ST_Area(z.geom))::float8 AS area_m2,
       count(*)::int AS zones, NULL::float8, NULL::float8, NULL::float8, NULL::float8
FROM z
LEFT JOIN planning.land_use_codes c ON c.code = z.land_use_code
LEFT JOIN planning.land_use_codes g ON g.code = c.group_code
GROUP BY z.land_use_code, c.name_vi, c.name_en, c.group_code, g.name_vi, g.name_en, c.color_hex
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, (SELECT coalesce(sum(ST_Area(geom)), 0) FROM z)::float8,
       (SELECT count(*) FROM z)::int,
       coalesce(ST_Area(cover.g), 0)::float8,
       ST_Area(boundary.g)::float8,
       CASE WHEN boundary.g IS NULL THEN NULL
            ELSE ST_Area(ST_Difference(boundary.g, coalesce(cover.g, 'SRID=9214;POLYGON EMPTY'::geometry))) END::float8,
       CASE WHEN boundary.g IS NULL OR cover.g IS NULL THEN NULL
            ELSE ST_Area(ST_Difference(cover.g, boundary.g)) END::float8
FROM cover CROSS JOIN boundary
ORDER BY 1 NULLS LAST
