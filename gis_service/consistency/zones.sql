-- The zones of a plan version (:lower) against those of the plan above it (:higher) where they overlap: each
-- overlap larger than :min_area_m2 once per rule it breaks, with both values, its area and a point inside it.
WITH overlap AS (
    SELECT l.id AS lower_zone_id, l.zone_code AS lower_zone_code, h.id AS higher_zone_id,
           h.zone_code AS higher_zone_code, l.land_use_code AS lower_use, h.land_use_code AS higher_use,
           l.max_floors AS l_floors, h.max_floors AS h_floors, l.max_height_m AS l_height, h.max_height_m AS h_height,
           l.max_density_pct AS l_density, h.max_density_pct AS h_density, l.max_far AS l_far, h.max_far AS h_far,
           l.heritage_zone AS l_heritage, h.heritage_zone AS h_heritage,
           ST_Intersection(l.geom, h.geom) AS g
    FROM planning.zones l
    JOIN planning.zones h ON h.plan_id = :higher AND ST_Intersects(l.geom, h.geom)
    WHERE l.plan_id = :lower
), measured AS (
    SELECT o.*, ST_Area(o.g) AS area_m2,
           -- land the higher plan protects: a heritage zone, relic land, water and riverbanks
           (o.h_heritage IS NOT NULL OR o.higher_use = ANY(CAST(:heritage_uses AS text[]))
            OR o.higher_use = ANY(CAST(:water_uses AS text[]))) AS protected,
           -- what the higher zone allows: its own use, the uses of its group, what any zone allows
           (o.lower_use = o.higher_use
            OR EXISTS (SELECT 1 FROM unnest(CAST(:allowed_higher AS text[]), CAST(:allowed_lower AS text[])) a(h, l)
                       WHERE a.h IN (o.higher_use, '*') AND a.l = o.lower_use)
            OR EXISTS (SELECT 1 FROM planning.land_use_codes c
                       WHERE c.code = o.lower_use AND c.group_code = o.higher_use)) AS use_allowed
    FROM overlap o
    WHERE NOT ST_IsEmpty(o.g)
)
SELECT v.rule, m.lower_zone_id, m.lower_zone_code, m.higher_zone_id, m.higher_zone_code,
       v.lower_value, v.higher_value, round(m.area_m2::numeric, 1)::float8 AS area_m2,
       round(ST_X(p.pt)::numeric, 2)::float8 AS easting, round(ST_Y(p.pt)::numeric, 2)::float8 AS northing
FROM measured m
CROSS JOIN LATERAL (VALUES
    ('land_use', to_jsonb(m.lower_use), to_jsonb(m.higher_use), NOT m.use_allowed AND NOT m.protected),
    ('max_floors', to_jsonb(m.l_floors), to_jsonb(m.h_floors), m.l_floors > m.h_floors),
    ('max_height_m', to_jsonb(m.l_height::float8), to_jsonb(m.h_height::float8), m.l_height > m.h_height),
    ('max_density_pct', to_jsonb(m.l_density::float8), to_jsonb(m.h_density::float8), m.l_density > m.h_density),
    ('max_far', to_jsonb(m.l_far::float8), to_jsonb(m.h_far::float8), m.l_far > m.h_far),
    -- a heritage zone (or relic land) given a use it does not allow, or renamed to another heritage zone
    ('heritage', to_jsonb(m.lower_use),
     to_jsonb(coalesce(m.h_heritage || ' (' || m.higher_use || ')', m.higher_use)),
     (m.h_heritage IS NOT NULL OR m.higher_use = ANY(CAST(:heritage_uses AS text[])))
     AND NOT (m.higher_use = ANY(CAST(:water_uses AS text[])))
     AND (NOT m.use_allowed OR (m.l_heritage IS NOT NULL AND m.l_heritage <> m.h_heritage))),
    -- a river, its banks or a water surface given a use other than water
    ('riverbank', to_jsonb(m.lower_use), to_jsonb(m.higher_use),
     m.higher_use = ANY(CAST(:water_uses AS text[])) AND NOT (m.lower_use = ANY(CAST(:water_uses AS text[]))))
) AS v(rule, lower_value, higher_value, breached)
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(m.g) AS pt) p
WHERE v.breached AND m.area_m2 >= :min_area_m2
ORDER BY v.rule, m.lower_zone_code NULLS LAST, m.lower_zone_id, m.higher_zone_id
